"""The robot protocol itself: its answers to bad input, its long-poll, and a fuzz campaign.

A vendor's adapter is judged against the same protocol; these tests pin down what the
reference kiosk answers so docs/kiosk-adapter.md can promise it.
"""

from __future__ import annotations

import string

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rig.core.drivers.robot_client import RobotError
from rig.core.protocols.robot import PROTOCOL_VERSION, ScreenId
from rig.harness.fuzz import examples
from rig.harness.kiosk_steps import (
    apply_and_pay,
    authenticate,
    choose_through_to_confirmation,
    take_everything,
)
from rig.harness.world import World as KioskWorld


def _problem(answer: httpx.Response) -> str:
    assert answer.headers["content-type"] == "application/problem+json"
    doc = answer.json()
    assert doc["status"] == answer.status_code
    assert doc["type"] == "urn:konbini-rig:problem:" + doc["code"]
    return str(doc["code"])


def test_info_and_first_screen(world: KioskWorld) -> None:
    info = world.robot.info()
    assert info.protocol_version == PROTOCOL_VERSION and info.follows_rig_clock
    assert info.timeouts_s["payment"] == 120
    view = world.robot.screen()
    assert view.screen is ScreenId.CARD_HOLD and view.seed_number == "①"
    assert "カードリーダに置いてください" in view.all_text


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/tap", {"option": "nope"}, 404, "option_unknown"),
        ("POST", "/keys", {"keys": "12"}, 409, "no_keypad"),
        ("POST", "/tap", {"option": ""}, 422, "invalid_request"),
        ("POST", "/tap", {"option": "ok", "extra": 1}, 422, "invalid_request"),
        ("POST", "/keys", {"keys": "12a"}, 422, "invalid_request"),
        ("POST", "/tap", [1, 2], 422, "invalid_request"),
        ("GET", "/tap", None, 405, "method_not_allowed"),
        ("DELETE", "/screen", None, 405, "method_not_allowed"),
        ("GET", "/nothing", None, 404, "not_found"),
        ("GET", "/screen?wait=100", None, 422, "invalid_request"),
        ("GET", "/screen?after=x", None, 422, "invalid_request"),
    ],
)
def test_bad_requests(
    world: KioskWorld, method: str, path: str, body: object, status: int, code: str
) -> None:
    answer = world.robot.http.request(method, path, json=body)
    assert answer.status_code == status
    assert _problem(answer) == code


def test_transport_errors(world: KioskWorld) -> None:
    http = world.robot.http
    answer = http.post("/tap", content=b"{not json", headers={"Content-Type": "application/json"})
    assert (answer.status_code, _problem(answer)) == (400, "invalid_json")
    answer = http.post("/tap", content=b'{"option":"x"}', headers={"Content-Type": "text/plain"})
    assert (answer.status_code, _problem(answer)) == (415, "unsupported_media_type")
    answer = http.post("/tap", content=b"x" * 5000, headers={"Content-Type": "application/json"})
    assert (answer.status_code, _problem(answer)) == (413, "body_too_large")
    answer = httpx.get(world.robot.base_url.removesuffix("/robot") + "/other")
    assert (answer.status_code, _problem(answer)) == (404, "not_found")


def test_disabled_option_and_long_poll(world: KioskWorld) -> None:
    view = world.robot.screen()
    seq = view.seq
    later = world.robot.screen(after=seq, wait=0.3)
    assert later.seq == seq, "nothing changed: the long poll ends at its wait"
    view = world.robot.tap("use_card_ap")
    assert view.seq > seq and view.option("use_card_ap").selected  # type: ignore[union-attr]
    with pytest.raises(RobotError) as err:
        world.robot.keys("1")
    assert err.value.code == "no_keypad"


@pytest.mark.fuzz
def test_fuzz_robot_protocol(world: KioskWorld) -> None:
    http = world.robot.http
    paths = st.sampled_from(["/tap", "/keys", "/screen", "/history", "/held", "/info", "/x"])
    bodies = st.one_of(
        st.binary(max_size=200),
        st.text(max_size=100).map(str.encode),
        st.dictionaries(
            st.sampled_from(["option", "keys", "x"]),
            st.one_of(st.text(alphabet=string.printable, max_size=20), st.integers(), st.none()),
            max_size=3,
        ).map(lambda d: httpx.Request("POST", "/", json=d).content),
    )
    methods = st.sampled_from(["GET", "POST", "PUT", "DELETE"])
    queries = st.dictionaries(
        st.sampled_from(["after", "wait", "since"]),
        st.one_of(st.text(max_size=8), st.integers(-5, 5).map(str)),
        max_size=2,
    )

    @settings(max_examples=examples(300))
    @given(method=methods, path=paths, body=bodies, query=queries)
    def run(method: str, path: str, body: bytes, query: dict[str, str]) -> None:
        if "wait" in query:
            query["wait"] = "0"  # keep the campaign short: the long poll is tested above
        answer = http.request(
            method, path, params=query, content=body,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        assert answer.status_code < 500, answer.text
        if answer.status_code >= 400:
            _problem(answer)

    run()
    assert world.kiosk.engine.faults == 0
    view = world.robot.screen()
    assert view.screen in (ScreenId.CARD_HOLD, ScreenId.NOTICE)


def test_reset_abandons_the_transaction_and_reopens_the_devices(world: KioskWorld) -> None:
    """`POST /reset` (what `rig run` calls on an external kiosk before each scenario)."""
    card = world.issue_card("mynumber-valid", world.resident(trait="household_of_3"))
    authenticate(world, card)
    choose_through_to_confirmation(world, "resident_record")
    world.customer.tap("apply")
    world.customer.wait_for(ScreenId.PAYMENT)
    assert world.robot.held().documents == 1
    view = world.robot.reset()
    assert view.screen is ScreenId.CARD_HOLD
    held = world.kiosk.held()
    assert held.empty and held.files == [], "the abandoned transaction's data is erased"
    assert "kiosk_reset" in [e["event"] for e in world.kiosk.audit.entries()]
    # the devices work again: a whole issuance after the reset
    authenticate(world, card)
    choose_through_to_confirmation(world, "resident_record")
    apply_and_pay(world)
    take_everything(world)
    assert world.robot.screen().screen is ScreenId.CARD_HOLD


def test_reset_when_the_devices_cannot_open_is_503(world: KioskWorld) -> None:
    world.cash.stop()  # the serial ports are gone: the kiosk cannot reopen them
    answer = world.robot.http.post("/reset", json={})
    assert answer.status_code == 503
    assert _problem(answer) == "kiosk_unavailable"

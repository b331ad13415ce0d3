"""The robot protocol's optional extensions (time, configuration, event log, storage) on the
reference kiosk, and the rig's client of them against a kiosk that declares them and misbehaves.

The kiosk here runs in the test's process with `KioskTestMode` installed, as `rig kiosk` does;
a `Customer` that does not follow the rig clock then waits through `POST /time`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulators.kiosk.test_mode import KioskTestMode
from rig.core.drivers.kiosk_extensions import ExtensionError, KioskExtensionsClient
from rig.core.drivers.robot_client import TIME_CHANNEL, Customer, RobotClient
from rig.core.protocols.robot import ConfigExtension, KioskExtensions, ScreenId, TimeExtension
from rig.harness.fuzz import examples
from rig.harness.kiosk_steps import authenticate
from rig.harness.time_label import time_label
from rig.harness.world import World as KioskWorld


@pytest.fixture
def test_mode(world: KioskWorld) -> KioskTestMode:
    return KioskTestMode(world.kiosk).install()


def _customer(world: KioskWorld) -> Customer:
    """A customer of a kiosk on its own clock: it waits through the kiosk's routes."""
    return Customer(
        world.robot, card_slot=world.slot, cash=world.cash.customer, printer=world.printer,
        follows_rig_clock=False, evidence=world.evidence,
    )  # fmt: skip


def test_info_declares_the_extensions(world: KioskWorld, test_mode: KioskTestMode) -> None:
    plain = KioskTestMode(
        world.kiosk, time=False, config=False, events=False, storage=False
    ).extensions()
    assert plain == KioskExtensions()
    info = world.robot.info()
    assert info.extensions.time == TimeExtension(max_advance_s=3600)
    assert info.extensions.config is not None
    assert set(info.extensions.config.settings) == {"centre_url", "trust_anchor"}
    assert "application" in info.extensions.config.restart
    assert info.extensions.events is not None
    assert info.extensions.storage is not None and info.extensions.storage.max_bytes > 0


def test_the_event_log_and_the_storage_are_what_the_kiosk_keeps(
    world: KioskWorld, test_mode: KioskTestMode
) -> None:
    """GET /events answers the audit log numbered from 1, GET /storage every file of the
    state folder; the rig's client reads both as the reference kiosk's own files."""
    customer = _customer(world)
    authenticate(world, world.issue_card("mynumber-valid", world.resident()))
    extensions = customer.extensions()
    events = extensions.events()
    audit = world.kiosk.audit.entries()
    assert [e.event for e in events] == [a["event"] for a in audit]
    assert [e.seq for e in events] == list(range(1, len(audit) + 1))
    assert any(e.event == "screen" and e.data.get("screen") == "pin" for e in events)
    assert [e.seq for e in extensions.events(len(audit) - 1)] == [len(audit)]
    stored = extensions.stored()
    assert stored["audit.jsonl"] == (world.kiosk.state_dir / "audit.jsonl").read_bytes()
    on_disk = {p for p in world.kiosk.state_dir.rglob("*") if p.is_file()}
    assert len(stored) == len(on_disk)
    for since in ("-1", "x", "1" * 13):
        answer = world.robot.http.get("/events", params={"since": since})
        assert answer.status_code == 422 and answer.json()["code"] == "invalid_request"


def test_a_time_out_in_test_mode_time(world: KioskWorld, test_mode: KioskTestMode) -> None:
    """The kiosk's time-out on ⑤ fires after POST /time, with no real waiting."""
    customer = _customer(world)
    authenticate(world, world.issue_card("mynumber-valid", world.resident()))
    before = customer.extensions().now()
    customer.wait_out(ScreenId.CERTIFICATE_CHOICE)
    view = world.robot.wait_for(ScreenId.NOTICE, ScreenId.CARD_HOLD, timeout=5)
    assert view.screen is ScreenId.NOTICE and view.facts["code"] == "timeout"
    after = customer.extensions().now()
    assert after.advanced_s - before.advanced_s == 61
    assert world.evidence is not None
    assert time_label(world.evidence) == "test-mode time: 1 wait, 61 s skipped"
    assert world.robot.held().empty


def test_without_the_extension_waits_are_real(world: KioskWorld) -> None:
    customer = _customer(world)
    assert not customer.extensions().has_time
    customer.wait(0.2)
    assert world.evidence is not None
    [record] = list(world.evidence.records(TIME_CHANNEL))
    assert (record["mode"], record["seconds"]) == ("real-time", 0.2)
    assert time_label(world.evidence) == "real time: 1 wait, 0.2 s waited"


def test_settings_last_until_the_reset(world: KioskWorld, test_mode: KioskTestMode) -> None:
    ext = _customer(world).extensions()
    installed = ext.settings()
    assert installed.centre_url == world.endpoints["center_url"] and not installed.restart_pending
    pem = world.tls.kiosk_ca.read_text(encoding="ascii")
    view = ext.configure(centre_url="https://127.0.0.1:9/v1", trust_anchor_pem=pem)
    assert view.restart_pending and view.centre_url == "https://127.0.0.1:9/v1"
    assert view.trust_anchor_sha256 != installed.trust_anchor_sha256
    assert ext.restart("application").screen is ScreenId.CARD_HOLD
    assert not ext.settings().restart_pending
    assert ext.restart("card_reader").screen is ScreenId.CARD_HOLD
    assert ext.restart("cash_unit").screen is ScreenId.CARD_HOLD
    world.robot.reset()
    assert ext.settings() == installed
    assert ext.configure(centre_url=None).centre_url == installed.centre_url


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        ("/time", {"advance_s": -1}, "advance_s"),
        ("/time", {"advance_s": 7200}, "at most 3600"),
        ("/time", {"seconds": 5}, "advance_s"),
        ("/config", {"trust_anchor_pem": "not a certificate"}, "no PEM certificate"),
        ("/config", {"centre_url": "ftp://127.0.0.1/v1"}, "centre_url"),
        ("/config", {"centre_url": "https://x/v1", "extra": 1}, "extra"),
        ("/restart", {"part": "printer_firmware"}, "part"),
        ("/restart", [], "body"),
    ],
)
def test_bad_extension_requests_are_refused(
    world: KioskWorld, test_mode: KioskTestMode, path: str, body: Any, detail: str
) -> None:
    answer = world.robot.http.post(path, json=body)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "invalid_request" and detail in problem["detail"]
    assert world.robot.screen().screen is ScreenId.CARD_HOLD


def test_fuzzed_extension_requests_never_break_the_kiosk(
    world: KioskWorld, test_mode: KioskTestMode
) -> None:
    """Random bodies to the extension routes: a 2xx or a problem document, never a 5xx."""
    http = world.robot.http
    values = st.one_of(
        st.text(max_size=30), st.integers(-10, 10**6), st.floats(allow_nan=True), st.none(),
        st.sampled_from(["application", "card_reader", "https://127.0.0.1:1/v1", "-----BEGIN"]),
    )  # fmt: skip
    bodies = st.one_of(
        st.binary(max_size=120),
        st.dictionaries(
            st.sampled_from(["advance_s", "centre_url", "trust_anchor_pem", "part", "x"]),
            values,
            max_size=3,
        ).map(lambda d: httpx.Request("POST", "/", json=d).content),
    )

    @settings(max_examples=examples(150), deadline=None)
    @given(path=st.sampled_from(["/time", "/config", "/restart"]), body=bodies)
    def run(path: str, body: bytes) -> None:
        answer = http.post(path, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code < 500, answer.text
        if answer.status_code >= 400:
            assert answer.json()["code"] in ("invalid_request", "invalid_json")

    run()
    assert world.kiosk.engine.faults == 0
    world.robot.reset()
    assert world.robot.screen().screen is ScreenId.CARD_HOLD


def test_a_kiosk_without_the_extensions_has_no_such_routes(world: KioskWorld) -> None:
    assert world.robot.http.post("/time", json={"advance_s": 1}).status_code == 404
    assert world.robot.http.get("/config").status_code == 404
    assert world.robot.http.get("/events").status_code == 404
    assert world.robot.http.get("/storage").status_code == 404


# -- a kiosk that declares the extensions and misbehaves --------------------------------------

Answer = tuple[int, str, bytes]


@contextmanager
def fake_kiosk(answer: Callable[[str, str, bytes], Answer]) -> Iterator[httpx.Client]:
    """An adapter double: `answer(method, path, body)` → (status, content type, body)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, ctype, body = answer(self.command, self.path, self.rfile.read(length))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _reply

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.server_address[1]}") as http:
            yield http
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


DECLARED = KioskExtensions(
    time=TimeExtension(max_advance_s=100),
    config=ConfigExtension(settings=["centre_url"], restart=["application"]),
)
NOW = json.dumps({"kiosk_time": "2026-11-24T10:00:00+09:00", "advanced_s": 0}).encode()


def _json(value: Any) -> Answer:
    return 200, "application/json", json.dumps(value).encode()


@pytest.mark.parametrize(
    ("post_time", "message"),
    [
        # claims to have advanced, but its clock did not move
        (lambda: (200, "application/json", NOW), "the kiosk's clock moved 0 s"),
        (
            lambda: (500, "application/problem+json", b'{"code": "internal_error"}'),
            'POST /time {\'advance_s\': 61.0}: answered 500: {"code": "internal_error"}',
        ),
        (lambda: (200, "text/html", b"<h1>OK</h1>"), "not a KioskTime"),
        (lambda: _json({"kiosk_time": "ten o'clock", "advanced_s": 61}), "not an ISO 8601"),
        (lambda: _json({"kiosk_time": "2026-11-24T10:01:01", "advanced_s": 61}), "no time zone"),
    ],
)
def test_misbehaving_time_names_the_route_and_the_answer(
    post_time: Callable[[], Answer], message: str
) -> None:
    def answer(method: str, path: str, body: bytes) -> Answer:
        if (method, path) == ("GET", "/time"):
            return 200, "application/json", NOW
        return post_time()

    with fake_kiosk(answer) as http, pytest.raises(ExtensionError) as err:
        KioskExtensionsClient(http, DECLARED).advance(61)
    assert "/time" in str(err.value) and message in str(err.value)


def test_a_long_wait_goes_in_steps_the_kiosk_accepts() -> None:
    asked: list[float] = []
    clock = {"advanced": 0.0}

    def answer(method: str, path: str, body: bytes) -> Answer:
        if method == "POST":
            asked.append(json.loads(body)["advance_s"])
            clock["advanced"] += asked[-1]
        seconds = int(clock["advanced"])
        kiosk_time = f"2026-11-24T10:{seconds // 60:02d}:{seconds % 60:02d}+09:00"
        return _json({"kiosk_time": kiosk_time, "advanced_s": clock["advanced"]})

    with fake_kiosk(answer) as http:
        KioskExtensionsClient(http, DECLARED).advance(250)
    assert asked == [100, 100, 50]


def test_misbehaving_configuration_names_the_route_and_the_answer() -> None:
    def answer(method: str, path: str, body: bytes) -> Answer:
        if path == "/config":
            # accepted, but the kiosk says it still uses another centre
            return _json({"centre_url": "https://elsewhere/v1", "trust_anchor_sha256": []})
        return 409, "application/problem+json", b'{"code": "locked"}'

    with fake_kiosk(answer) as http:
        ext = KioskExtensionsClient(http, DECLARED)
        with pytest.raises(ExtensionError, match=r"asked for centre_url https://tap/v1.*elsewhere"):
            ext.configure(centre_url="https://tap/v1")
        with pytest.raises(ExtensionError, match=r"POST /restart .*answered 409: .*locked"):
            ext.restart("application")


def test_a_kiosk_that_does_not_answer_names_the_route() -> None:
    with (
        httpx.Client(base_url="http://127.0.0.1:9") as http,
        pytest.raises(ExtensionError, match=r"GET /time: no answer \(ConnectError"),
    ):
        KioskExtensionsClient(http, DECLARED).advance(1)


def test_the_robot_client_reads_info_without_extensions() -> None:
    """A 1.1 adapter's /info (no `extensions`) still validates: no extension declared."""
    info = {"protocol_version": "1.1", "vendor": "v", "model": "m", "software_version": "1",
            "follows_rig_clock": False, "timeouts_s": {"pin": 60}}  # fmt: skip
    with fake_kiosk(lambda m, p, b: _json(info)) as http:
        robot = RobotClient(str(http.base_url))
        try:
            assert robot.info().extensions == KioskExtensions()
        finally:
            robot.close()

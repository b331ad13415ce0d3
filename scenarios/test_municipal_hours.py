"""The issuance server's own calendar, narrower than the centre's (seed II.7.1, II.7.3).

The three bundled municipalities' YAML calendars (emulators/municipal/municipalities/):

- やまなみ町 (993026): 07:00–21:00, closed on Sundays and national holidays, maintenance
  every Wednesday 17:30 to Thursday 09:00 (a window running past midnight);
- かわべ町 (993034): 戸籍 and 附票 on weekdays 09:00–17:00 only, closed on 2026-12-28;
- みなと市 (991015): 06:30–23:00 like the centre, a maintenance window on 2026-12-06 00:00–09:00.

The centre is open 06:30–23:00 at every instant tested here, so a refusal can only come from
the issuance server: it reaches the kiosk side relayed with `source: municipality`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from rig.core.clock import JST
from rig.core.drivers.centre_client import CentreApiError
from rig.core.https import https_client
from rig.core.protocols.centre import CertTypeName
from rig.harness.world import CITY, KOSEKI_TOWN, SMALL_TOWN, World
from scenarios.support import KioskSide, resident_ids_in

# the issuance server's hours are judged on its clock: the emulated one runs on the rig's, an
# external one applies when it declares a test-mode clock (docs/municipal-server-testing.md)
pytestmark = [
    pytest.mark.municipal_server,
    pytest.mark.municipal_clock,
    pytest.mark.world(marks="layout"),
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


@pytest.fixture
def kiosk(backend: World) -> Iterator[KioskSide]:
    side = KioskSide.connect(backend)
    yield side
    side.close()


def refusal(call: Callable[[], Any]) -> CentreApiError | None:
    try:
        call()
    except CentreApiError as exc:
        return exc
    return None


def assert_refused(exc: CentreApiError | None, code: str) -> None:
    assert exc is not None, f"issued although the municipality should refuse with {code}"
    assert (exc.status, exc.code, exc.source) == (503, code, "municipality"), exc.problem
    assert exc.problem.get("message_ja")


def visit(world: World, kiosk: KioskSide, code: str, when: str, *, trait: str = "eligible") -> Any:
    """A resident of `code` at the kiosk at `when`: the login refusal, or the session id."""
    card = world.issue_card("mynumber-valid", world.resident(code, trait), code=code)
    world.clock.set(at(when))
    try:
        sid, _ = kiosk.login_jpki(card)
    except CentreApiError as exc:
        return exc
    return sid


def issue_ok(kiosk: KioskSide, sid: str, cert_type: CertTypeName, variant: str | None) -> None:
    receipt, pdf = kiosk.issue(sid, cert_type, variant=variant)
    assert receipt.state == "completed" and resident_ids_in(pdf)


# -- HOURS-004: the municipality's own, shorter hours ----------------------------------------


@pytest.mark.requirement("HOURS-004")
@pytest.mark.parametrize(
    ("code", "when", "refused"),
    [
        (SMALL_TOWN, "2026-11-27T06:59:59", "outside_service_hours"),
        (SMALL_TOWN, "2026-11-27T07:00:00", None),
        (SMALL_TOWN, "2026-11-27T20:59:59", None),
        (SMALL_TOWN, "2026-11-27T21:00:00", "outside_service_hours"),
        (CITY, "2026-11-27T06:30:00", None),  # みなと市 keeps the centre's hours
    ],
)
def test_municipal_service_hours(
    backend: World, kiosk: KioskSide, code: str, when: str, refused: str | None
) -> None:
    outcome = visit(backend, kiosk, code, when)
    if refused:
        assert_refused(outcome, refused)
    else:
        assert isinstance(outcome, str), outcome
        issue_ok(kiosk, outcome, "resident_record", None)


@pytest.mark.requirement("HOURS-004")
def test_closing_time_reaches_a_session_already_open(backend: World, kiosk: KioskSide) -> None:
    sid = visit(backend, kiosk, SMALL_TOWN, "2026-11-24T20:59:50")
    assert isinstance(sid, str), sid
    backend.clock.advance(10)  # 21:00:00
    assert_refused(
        refusal(lambda: kiosk.client.request_certificate(sid, "resident_record")),
        "outside_service_hours",
    )


# -- HOURS-005: days the municipality does not serve ----------------------------------------


@pytest.mark.requirement("HOURS-005")
@pytest.mark.parametrize(
    ("code", "when", "refused"),
    [
        (SMALL_TOWN, "2026-11-29T10:00:00", "closed_day"),  # Sunday
        (SMALL_TOWN, "2027-01-11T10:00:00", "closed_day"),  # 成人の日 (Monday)
        (SMALL_TOWN, "2026-11-28T10:00:00", None),  # Saturday: open
        (KOSEKI_TOWN, "2026-12-28T10:00:00", "closed_day"),  # かわべ町's closed date
        (CITY, "2026-12-28T10:00:00", None),  # the same day in みなと市
    ],
)
def test_closed_days(
    backend: World, kiosk: KioskSide, code: str, when: str, refused: str | None
) -> None:
    outcome = visit(backend, kiosk, code, when)
    if refused:
        assert_refused(outcome, refused)
    else:
        assert isinstance(outcome, str), outcome
        issue_ok(kiosk, outcome, "resident_record", None)


@pytest.mark.requirement("HOURS-005")
def test_year_end_closure_at_the_issuance_server(backend: World) -> None:
    """The centre is closed too, so ask the issuance server directly over LGWAN."""
    serial = backend.registered_serial(CITY, backend.resident(CITY))
    backend.clock.set(at("2026-12-30T12:00:00"))
    with https_client(
        backend.municipal_urls[CITY], client=backend.lgwan_client_cert(),
        server_ca=backend.lgwan_ca(),
    ) as lgwan:  # fmt: skip
        answer = lgwan.post("/auth/jpki", json={"cert_serial": f"{serial:x}"})
    assert (answer.status_code, answer.json()["code"]) == (503, "year_end_closure")
    assert answer.headers.get("Retry-After")


# -- HOURS-007: 戸籍 hours inside the general hours ---------------------------------------------

KOSEKI = [("koseki", "full"), ("koseki", "individual"), ("fuhyo", None)]


@pytest.mark.requirement("HOURS-007")
@pytest.mark.parametrize(
    ("when", "koseki_open"),
    [
        ("2026-11-27T08:59:59", False),
        ("2026-11-27T09:00:00", True),
        ("2026-11-27T17:00:00", False),
        ("2026-11-28T10:00:00", False),  # Saturday
        ("2027-01-11T10:00:00", False),  # 成人の日
    ],
)
def test_koseki_hours(backend: World, kiosk: KioskSide, when: str, koseki_open: bool) -> None:
    sid = visit(backend, kiosk, KOSEKI_TOWN, when, trait="koseki_here")
    assert isinstance(sid, str), sid
    menu = {(c["type"], c["variant"]): c for c in kiosk.client.menu(sid)["certificates"]}
    for key in KOSEKI:
        assert menu[key]["available"] is koseki_open
        if not koseki_open:
            assert menu[key]["refusal"]["code"] == "koseki_outside_hours"
    assert menu[("resident_record", None)]["available"]
    issue_ok(kiosk, sid, "resident_record", None)  # other types stay available
    if koseki_open:
        issue_ok(kiosk, sid, "koseki", "full")
    else:
        assert_refused(
            refusal(lambda: kiosk.client.request_certificate(sid, "koseki", variant="full")),
            "koseki_outside_hours",
        )


# -- HOURS-008: maintenance windows -----------------------------------------------------------


@pytest.mark.requirement("HOURS-008")
@pytest.mark.parametrize(
    ("code", "when", "refused"),
    [
        (SMALL_TOWN, "2026-11-25T17:29:59", None),  # Wednesday
        (SMALL_TOWN, "2026-11-25T17:30:00", "maintenance"),
        (SMALL_TOWN, "2026-11-26T08:59:59", "maintenance"),  # Thursday, past midnight
        (SMALL_TOWN, "2026-11-26T09:00:00", None),
        (SMALL_TOWN, "2026-11-24T17:30:00", None),  # Tuesday: no window
        (CITY, "2026-12-06T06:30:00", "maintenance"),
        (CITY, "2026-12-06T08:59:59", "maintenance"),
        (CITY, "2026-12-06T09:00:00", None),
    ],
)
def test_maintenance_windows(
    backend: World, kiosk: KioskSide, code: str, when: str, refused: str | None
) -> None:
    outcome = visit(backend, kiosk, code, when)
    if refused:
        assert_refused(outcome, refused)
    else:
        assert isinstance(outcome, str), outcome
        issue_ok(kiosk, outcome, "resident_record", None)


@pytest.mark.requirement("HOURS-008")
def test_maintenance_starts_during_a_session(backend: World, kiosk: KioskSide) -> None:
    sid = visit(backend, kiosk, SMALL_TOWN, "2026-11-25T17:29:30")
    assert isinstance(sid, str), sid
    issue_ok(kiosk, sid, "resident_record", None)
    backend.clock.set(at("2026-11-25T17:30:00"))
    assert_refused(
        refusal(lambda: kiosk.client.request_certificate(sid, "resident_record")), "maintenance"
    )

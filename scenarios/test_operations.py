"""Operations (seed II.7.2, II.7.3): outages of one municipality, recovery without restart,
slow issuance servers, monitoring in the evidence, and the notices the centre shares.

Verdicts come from the kiosk API (status, problem code, time taken, the session's requests),
the notices route (`GET /v1/notices` with a kiosk or an LGPKI certificate) and the centre's
monitoring records in the evidence. Faults are set up on the rig clock (LGWAN outages,
maintenance, OCSP faults) or with the municipal server's fault switches.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from emulators.jpki.faults import OcspFault
from rig.core.calendar import Incident, IncidentKind
from rig.core.clock import JST
from rig.core.drivers.centre_client import CentreApiError, CentreClient
from rig.harness.world import CITY, KOSEKI_TOWN, SMALL_TOWN, World
from scenarios.support import KioskSide, resident_ids_in

pytestmark = pytest.mark.world(marks="layout")
#: What "a bounded time" means for the kiosk: its own screen time-out is far longer.
BOUND_S = 5.0


def card_for(world: World, code: str) -> Any:
    return world.issue_card("mynumber-valid", world.resident(code), code=code)


def attempt(world: World, code: str) -> tuple[CentreApiError | None, float]:
    """A whole JPKI issuance for a resident of `code`: the refusal (or None) and the time."""
    card = card_for(world, code)
    kiosk = KioskSide.connect(world)
    began = time.perf_counter()
    try:
        session_id, _ = kiosk.login_jpki(card)
        _, pdf = kiosk.issue(session_id, "resident_record")
        assert resident_ids_in(pdf)[0] == world.municipal.registry.person_for_serial(
            f"{card.credentials.auth_serial:x}"
        )
    except CentreApiError as exc:
        return exc, time.perf_counter() - began
    finally:
        kiosk.close()
    return None, time.perf_counter() - began


def notices(world: World, who: str) -> list[dict[str, Any]]:
    """`GET /v1/notices` as an operator ("operator") or as municipality `who`."""
    pair = (
        world.tls.kiosk_client("kiosk-0001") if who == "operator" else world.tls.lgpki_client(who)
    )
    with httpx.Client(
        base_url=world.endpoints["center_url"],
        verify=_context(world, pair),
    ) as client:
        answer = client.get("/notices")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["notices"]
    return found


def _context(world: World, pair: Any) -> Any:
    from rig.core.https import client_ssl_context

    return client_ssl_context(pair, world.tls.server_ca)


def report(world: World, code: str, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(
        base_url=world.endpoints["center_url"],
        verify=_context(world, world.tls.lgpki_client(code)),
    ) as client:
        return client.post("/notices", json=body)


# -- OPS-001 / OPS-002 / OPS-003 -----------------------------------------------------------------
@pytest.mark.requirement("OPS-001", "OPS-002")
@pytest.mark.smoke
def test_an_lgwan_outage_of_one_municipality_spares_the_others(backend: World) -> None:
    now = backend.clock.now()
    backend.centre.faults.lgwan_outage(now, now + timedelta(hours=1), SMALL_TOWN, "回線障害")
    refused, took = attempt(backend, SMALL_TOWN)
    assert refused is not None
    assert (refused.status, refused.problem["code"]) == (503, "lgwan_unavailable")
    assert refused.retry_after is not None and refused.problem.get("message_ja")
    assert took < BOUND_S
    for code in (CITY, KOSEKI_TOWN):
        assert attempt(backend, code)[0] is None, code
    assert [r["municipality"] for r in _settled(backend)] == [CITY, KOSEKI_TOWN]


def _settled(world: World) -> list[dict[str, Any]]:
    # the centre's own certificate (J-LIS) reads every municipality's rows; a municipality's
    # reads only its own (STAT-004)
    with CentreClient(
        world.endpoints["center_url"],
        client=world.tls.lgpki_client(),
        server_ca=world.tls.server_ca,
    ) as client:
        return client.settlement("2026-11")


@pytest.mark.requirement("OPS-001")
@pytest.mark.parametrize("fault", ["server-down", "failing-requests"])
def test_a_municipal_server_fault_is_a_specific_refusal_before_any_fee(
    backend: World, fault: str
) -> None:
    card = card_for(backend, CITY)
    kiosk = KioskSide.connect(backend)
    try:
        session_id, _ = kiosk.login_jpki(card)
        if fault == "server-down":
            backend.municipal.faults.down = True
        else:
            backend.municipal.faults.fail_next = 5
        began = time.perf_counter()
        with pytest.raises(CentreApiError) as refused:
            kiosk.client.request_certificate(session_id, "resident_record")
        assert time.perf_counter() - began < BOUND_S
        assert not kiosk.client.session(session_id).requests  # nothing to pay for
    finally:
        backend.municipal.faults.clear()
        kiosk.close()
    assert refused.value.status == 503
    assert refused.value.problem["code"] == "service_unavailable"
    assert refused.value.problem.get("message_ja")
    assert _settled(backend) == []


@pytest.mark.requirement("OPS-003")
@pytest.mark.parametrize("fault", ["lgwan-outage", "server-down"])
def test_issuance_resumes_after_repair_without_restart(backend: World, fault: str) -> None:
    now = backend.clock.now()
    end = now + timedelta(minutes=20)
    if fault == "lgwan-outage":
        backend.centre.faults.lgwan_outage(now, end, CITY)
    else:
        backend.municipal.faults.down = True
    refused, _ = attempt(backend, CITY)
    assert refused is not None and refused.status == 503
    if fault == "lgwan-outage":
        backend.clock.set(end)
    else:
        backend.municipal.faults.clear()
    assert attempt(backend, CITY)[0] is None


# -- OPS-004: monitoring ---------------------------------------------------------------------
@pytest.mark.requirement("OPS-004")
def test_the_centre_records_when_a_link_failed_and_recovered(backend: World) -> None:
    assert backend.evidence is not None
    backend.municipal.faults.down = True
    attempt(backend, CITY)
    failed_at = backend.clock.now()
    backend.clock.advance(900)
    backend.municipal.faults.clear()
    assert attempt(backend, CITY)[0] is None
    now = backend.clock.now()
    backend.ocsp_faults.add(OcspFault.TRY_LATER, now, now + timedelta(minutes=5))
    attempt(backend, SMALL_TOWN)
    backend.clock.advance(600)
    assert attempt(backend, SMALL_TOWN)[0] is None
    monitor = [
        (r["event"], r["link"], r["municipality"], r["rig_time"])
        for r in backend.evidence.records("centre-monitor")
    ]
    assert monitor == [
        ("fault_detected", "municipality-unreachable", CITY, failed_at.isoformat()),
        (
            "recovered",
            "municipality-unreachable",
            CITY,
            (failed_at + timedelta(seconds=900)).isoformat(),
        ),
        ("fault_detected", "jpki-unavailable", None, now.isoformat()),
        ("recovered", "jpki-unavailable", None, (now + timedelta(minutes=10)).isoformat()),
    ]


# -- OPS-005 / TEST-005: a municipality's fault reaches the operators through the centre -------
@pytest.mark.requirement("OPS-005", "TEST-005")
def test_a_municipal_fault_report_reaches_the_operators(backend: World) -> None:
    assert notices(backend, "operator") == []
    reported = report(backend, SMALL_TOWN, {"kind": "fault", "note": "証明発行サーバ停止"})
    assert reported.status_code == 201, reported.text
    [seen] = notices(backend, "operator")
    assert (seen["kind"], seen["municipality"], seen["origin"]) == (
        "municipal-fault",
        SMALL_TOWN,
        "reported",
    )
    assert seen["start"] == backend.clock.now().isoformat() and seen["active"] is True
    # a municipality cannot post in another's name: its certificate names it
    as_kiosk = httpx.Client(
        base_url=backend.endpoints["center_url"],
        verify=_context(backend, backend.tls.kiosk_client("kiosk-0001")),
    )
    with as_kiosk:
        assert as_kiosk.post("/notices", json={"kind": "fault"}).status_code == 403


@pytest.mark.requirement("OPS-005", "OPS-004")
def test_a_fault_the_centre_detects_is_shared_with_operators(backend: World) -> None:
    backend.municipal.faults.down = True
    attempt(backend, KOSEKI_TOWN)
    began = backend.clock.now()
    [seen] = notices(backend, "operator")
    assert (seen["kind"], seen["municipality"], seen["end"]) == (
        "municipality-unreachable",
        KOSEKI_TOWN,
        None,
    )
    assert [n["kind"] for n in notices(backend, KOSEKI_TOWN)] == ["municipality-unreachable"]
    assert notices(backend, CITY) == []
    backend.clock.advance(300)
    backend.municipal.faults.clear()
    assert attempt(backend, KOSEKI_TOWN)[0] is None
    [closed] = notices(backend, "operator")
    assert closed["start"] == began.isoformat()
    assert closed["end"] == (began + timedelta(seconds=300)).isoformat()


# -- OPS-006: JPKI centre fault ------------------------------------------------------------------
@pytest.mark.requirement("OPS-006")
@pytest.mark.parametrize("how", ["scheduled-outage", "responder-down"])
def test_a_jpki_fault_is_notified_to_municipalities_and_operators(backend: World, how: str) -> None:
    now = backend.clock.now()
    end = now + timedelta(hours=1)
    if how == "scheduled-outage":
        backend.centre.faults.jpki_outage(now, end, "JPKI センター障害")
        kind = "jpki-outage"
    else:
        backend.ocsp_faults.add(OcspFault.DOWN, now, end)
        backend.ocsp.follow_fault_plan()
        backend.clock.advance(1)
        refused, _ = attempt(backend, CITY)  # the centre finds out at the next JPKI login
        assert refused is not None and refused.problem["code"] == "jpki_unavailable"
        kind = "jpki-unavailable"
    for who in ("operator", CITY, SMALL_TOWN):
        assert [(n["kind"], n["active"]) for n in notices(backend, who)] == [(kind, True)], who


# -- OPS-007 / OPS-008: maintenance announced ahead ------------------------------------------------
@pytest.mark.requirement("OPS-007")
@pytest.mark.parametrize("how", ["schedule", "municipal-report"])
def test_municipal_maintenance_is_shared_with_operators_before_it_starts(
    backend: World, how: str
) -> None:
    start = datetime(2026, 11, 25, 8, 0, tzinfo=JST)
    end = datetime(2026, 11, 25, 9, 0, tzinfo=JST)
    if how == "schedule":
        backend.centre.incidents.incidents.append(
            Incident(IncidentKind.MUNICIPAL_MAINTENANCE, start, end, SMALL_TOWN, {}, "住基更新")
        )
    else:
        answer = report(
            backend,
            SMALL_TOWN,
            {"kind": "maintenance", "start": start.isoformat(), "end": end.isoformat()},
        )
        assert answer.status_code == 201, answer.text
    [seen] = notices(backend, "operator")
    assert (seen["kind"], seen["municipality"]) == ("municipal-maintenance", SMALL_TOWN)
    assert seen["start"] == start.isoformat() and seen["end"] == end.isoformat()
    assert seen["active"] is False and backend.clock.now() < start  # told in advance
    assert notices(backend, CITY) == []


@pytest.mark.requirement("OPS-008")
def test_centre_and_operator_maintenance_are_notified_to_municipalities(backend: World) -> None:
    start = datetime(2026, 11, 26, 2, 0, tzinfo=JST)
    backend.centre.faults.maintenance(start, start + timedelta(hours=3), "センター定期保守")
    backend.centre.notices.announce_operator_maintenance(
        "konbini-a", start + timedelta(days=1), start + timedelta(days=1, hours=2)
    )
    for code in (CITY, SMALL_TOWN, KOSEKI_TOWN):
        kinds = [(n["kind"], n["start"]) for n in notices(backend, code)]
        assert kinds == [
            ("centre-maintenance", start.isoformat()),
            ("operator-maintenance", (start + timedelta(days=1)).isoformat()),
        ], code
    assert [n["kind"] for n in notices(backend, "operator")] == ["centre-maintenance"]


# -- OPS-009: a slow issuance server ---------------------------------------------------------
@pytest.mark.requirement("OPS-009")
@pytest.mark.world(marks="layout", centre_overrides={"municipal_timeout": 0.5})
def test_a_slow_issuance_server_ends_the_issuance_cleanly(backend: World) -> None:
    card = card_for(backend, CITY)
    kiosk = KioskSide.connect(backend)
    try:
        session_id, _ = kiosk.login_jpki(card)
        backend.municipal.faults.delay_seconds = 1.0
        began = time.perf_counter()
        with pytest.raises(CentreApiError) as refused:
            kiosk.client.request_certificate(session_id, "resident_record")
        took = time.perf_counter() - began
        backend.municipal.faults.clear()
        assert (refused.value.status, refused.value.problem["code"]) == (
            504,
            "municipality_timeout",
        )
        assert took < BOUND_S
        assert not kiosk.client.session(session_id).requests  # nothing left to print
        backend.clock.advance(1)
        done, _ = kiosk.issue(session_id, "resident_record")  # the next try goes through
        assert done.state == "completed"
    finally:
        backend.municipal.faults.clear()
        kiosk.close()
    [row] = _settled(backend)
    assert row["copies"] == 1


# -- OPS-011: faults in the operators' range and of the centre itself reach the municipalities --
def operator_report(world: World, operator: str | None, body: dict[str, Any]) -> httpx.Response:
    """`POST /v1/operator-reports` with a kiosk certificate naming `operator` (OU)."""
    with httpx.Client(
        base_url=world.endpoints["center_url"],
        verify=_context(world, world.tls.kiosk_client("kiosk-0001", operator=operator)),
    ) as client:
        return client.post("/operator-reports", json=body)


@pytest.mark.requirement("OPS-011")
@pytest.mark.parametrize("what", ["operator-link", "store", "centre"])
def test_faults_of_an_operator_or_of_the_centre_are_told_to_the_municipalities(
    backend: World, what: str
) -> None:
    assert backend.evidence is not None
    now = backend.clock.now()
    end = now + timedelta(hours=2)
    if what == "centre":
        backend.centre.faults.outage(now, end, "センター障害")
        refused, _ = attempt(backend, CITY)  # nothing new starts while the centre is down
        assert refused is not None and refused.problem["code"] == "centre_fault", refused
        kind, operator, store = "centre-fault", None, None
    else:
        kind = "operator-link-fault" if what == "operator-link" else "store-fault"
        operator, store = "konbini-a", ("store-0042" if what == "store" else None)
        body: dict[str, Any] = {
            "kind": "link-fault" if what == "operator-link" else "store-fault",
            "end": end.isoformat(),
            "note": "回線障害" if what == "operator-link" else "店舗端末障害",
        }
        if store is not None:
            body["store"] = store
        answer = operator_report(backend, operator, body)
        assert answer.status_code == 201, answer.text
    for code in (CITY, SMALL_TOWN, KOSEKI_TOWN):  # every municipality's residents are affected
        seen = [n for n in notices(backend, code) if n["kind"] == kind]
        assert len(seen) == 1, (code, notices(backend, code))
        [notice] = seen
        assert (notice["operator"], notice["store"], notice["active"]) == (operator, store, True)
        assert (notice["start"], notice["end"]) == (now.isoformat(), end.isoformat())
    told_operators = [n["kind"] for n in notices(backend, "operator")]
    assert (kind in told_operators) is (what == "centre"), told_operators
    recorded = [r for r in backend.evidence.records("centre-notices") if r["kind"] == kind]
    assert len(recorded) == 1, recorded  # recorded once, however often it is read
    assert (recorded[0]["start"], recorded[0]["end"]) == (now.isoformat(), end.isoformat())


@pytest.mark.requirement("OPS-011")
def test_an_operator_report_needs_the_operators_certificate_and_a_store(backend: World) -> None:
    anonymous = operator_report(backend, None, {"kind": "link-fault"})
    assert anonymous.status_code == 403, anonymous.text
    no_store = operator_report(backend, "konbini-a", {"kind": "store-fault"})
    assert no_store.status_code == 422, no_store.text
    assert [n["kind"] for n in notices(backend, CITY)] == []

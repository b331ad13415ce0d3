"""Notices: the centre shares outages and maintenance with operators and municipalities."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from emulators.centre.notices import MunicipalReport, NoticeBoard, NoticeKind
from rig.core.calendar import Incident, IncidentKind, IncidentSchedule
from rig.core.clock import JST, RigClock
from rig.core.evidence import EvidenceStore

from .conftest import CITY, SMALL_TOWN, CentreWorld

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=JST)


def _board(clock: RigClock, schedule: IncidentSchedule | None = None) -> NoticeBoard:
    clock.set(T0)
    return NoticeBoard(clock.now, schedule or IncidentSchedule())


def kinds(notices: list[Any]) -> list[str]:
    return [n.kind.value for n in notices]


def test_schedule_feeds_each_audience(rig_clock: RigClock) -> None:
    hour = timedelta(hours=1)
    schedule = IncidentSchedule(
        [
            Incident(IncidentKind.MUNICIPAL_MAINTENANCE, T0 + hour, T0 + 2 * hour, CITY),
            Incident(IncidentKind.CENTRE_MAINTENANCE, T0 + 3 * hour, T0 + 4 * hour),
            Incident(IncidentKind.PRINTER_FAULT, T0, T0 + hour),  # not the centre's to tell
        ]
    )
    board = _board(rig_clock, schedule)
    board.announce_operator_maintenance("konbini-a", T0 + 5 * hour, T0 + 6 * hour)
    assert kinds(board.for_operators()) == ["municipal-maintenance", "centre-maintenance"]
    assert kinds(board.for_municipality(CITY)) == ["centre-maintenance", "operator-maintenance"]
    view = board.for_operators()[0].view(rig_clock.now())
    assert view["municipality"] == CITY and view["active"] is False
    assert view["start"] == (T0 + hour).isoformat()


def test_a_municipal_fault_goes_to_operators_only(rig_clock: RigClock) -> None:
    board = _board(rig_clock)
    notice = board.report(SMALL_TOWN, MunicipalReport(kind="fault", note="server down"))
    assert notice.kind is NoticeKind.MUNICIPAL_FAULT and notice.start == T0 and notice.end is None
    assert kinds(board.for_operators()) == ["municipal-fault"]
    assert board.for_municipality(SMALL_TOWN) == []


def test_detected_faults_open_once_and_close_at_recovery(rig_clock: RigClock) -> None:
    board = _board(rig_clock)
    assert board.detected(NoticeKind.JPKI_UNAVAILABLE, None, "ConnectError") is not None
    assert board.detected(NoticeKind.JPKI_UNAVAILABLE, None, "again") is None
    rig_clock.advance(600)
    closed = board.recovered(NoticeKind.JPKI_UNAVAILABLE, None)
    assert closed is not None and closed.end == T0 + timedelta(minutes=10)
    assert board.recovered(NoticeKind.JPKI_UNAVAILABLE, None) is None
    assert kinds(board.for_municipality(CITY)) == ["jpki-unavailable"]
    rig_clock.advance(25 * 3600)  # history is a day
    assert board.for_operators() == []


def test_maintenance_reports_need_a_window() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        MunicipalReport(kind="maintenance")
    with pytest.raises(ValidationError):
        MunicipalReport(kind="fault", start=T0, end=T0)


def test_routes_by_certificate(world: CentreWorld, evidence: EvidenceStore) -> None:
    world.clock.set(T0)
    town = world.kiosk(pair=world.tls.lgpki_client(SMALL_TOWN))
    reported = town.http.post("/notices", json={"kind": "fault", "note": "住基 link down"})
    assert reported.status_code == 201, reported.text
    assert reported.json()["kind"] == "municipal-fault"
    assert reported.json()["municipality"] == SMALL_TOWN
    kiosk = world.kiosk()
    seen = kiosk.http.get("/notices").json()
    assert seen["audience"] == "operators"
    assert [n["kind"] for n in seen["notices"]] == ["municipal-fault"]
    assert town.http.get("/notices").json()["notices"] == []
    assert kiosk.http.post("/notices", json={"kind": "fault"}).json()["code"] == (
        "client_not_allowed"
    )
    centre_cert = world.kiosk(pair=world.tls.lgpki_client("issuance-centre"))
    assert centre_cert.http.get("/notices").status_code == 403
    bad = town.http.post("/notices", json={"kind": "maintenance", "start": "tomorrow"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"
    assert "住基" not in str(bad.json())


def test_detected_jpki_outage_is_monitored(world: CentreWorld, evidence: EvidenceStore) -> None:
    from emulators.jpki.faults import OcspFault

    world.clock.set(T0)
    world.ocsp_faults.add(OcspFault.TRY_LATER, T0, T0 + timedelta(minutes=5))
    creds = world.jpki_holder(1, CITY, world.find(CITY))
    kiosk = world.kiosk()
    session = world.open(kiosk)
    assert session.nonce is not None
    refused = kiosk.http.post(
        f"/sessions/{session.session_id}/auth/jpki",
        json=_jpki_body(world, creds, session.nonce),
    )
    assert refused.json()["code"] == "jpki_unavailable"
    city = world.kiosk(pair=world.tls.lgpki_client(CITY))
    open_ = city.http.get("/notices").json()["notices"]
    assert [(n["kind"], n["end"], n["active"]) for n in open_] == [("jpki-unavailable", None, True)]
    world.clock.advance(600)
    world.jpki_login(kiosk, creds)
    closed = city.http.get("/notices").json()["notices"]
    assert closed[0]["end"] == (T0 + timedelta(minutes=10)).isoformat()
    events = [r["event"] for r in evidence.records("centre-monitor")]
    assert events == ["fault_detected", "recovered"]


def _jpki_body(world: CentreWorld, creds: Any, nonce: bytes) -> dict[str, str]:
    import base64

    from cryptography.hazmat.primitives.serialization import Encoding

    der = creds.auth_cert.public_bytes(Encoding.DER)
    return {
        "certificate": base64.b64encode(der).decode(),
        "signature": base64.b64encode(world.sign(creds, nonce)).decode(),
        "nonce": nonce.hex(),
    }

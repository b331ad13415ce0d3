"""Service hours on the rig clock: 6:30–23:00, closed 12/29–1/3; what happens at closing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from emulators.centre.hours import GRACE, SESSION_LIFETIME
from rig.core.clock import JST
from rig.core.drivers.centre_client import CentreApiError

from .conftest import CITY, CentreWorld


def _code(exc: pytest.ExceptionInfo[CentreApiError]) -> str:
    return exc.value.code


def test_open_at_22_59_59_closed_at_23_00_00(world: CentreWorld) -> None:
    w = world
    w.clock.set(datetime(2026, 11, 24, 22, 59, 59, tzinfo=JST))
    kiosk = w.kiosk()
    session = w.open(kiosk)
    assert session.closes_at == datetime(2026, 11, 24, 23, 0, tzinfo=JST)
    w.clock.advance(1)
    with pytest.raises(CentreApiError) as exc:
        w.open(kiosk)
    assert exc.value.status == 503 and _code(exc) == "centre_closed"
    assert exc.value.problem["closure"] == "after-hours"
    # reopens at 6:30 the next morning: Retry-After says so (7.5 h)
    assert exc.value.retry_after == str(int(timedelta(hours=7, minutes=30).total_seconds()))
    health = kiosk.health()
    assert health["open"] is False and health["closure"] == "after-hours"


@pytest.mark.parametrize(
    ("when", "closure"),
    [
        (datetime(2026, 11, 25, 6, 29, 59, tzinfo=JST), "before-hours"),
        (datetime(2026, 12, 29, 10, 0, tzinfo=JST), "year-end-closure"),
        (datetime(2027, 1, 3, 22, 0, tzinfo=JST), "year-end-closure"),
    ],
)
def test_closed_times(world: CentreWorld, when: datetime, closure: str) -> None:
    w = world
    w.clock.set(when)
    with pytest.raises(CentreApiError) as exc:
        w.open(w.kiosk())
    assert (_code(exc), exc.value.problem["closure"]) == ("centre_closed", closure)


def test_open_again_at_6_30_on_4_january(world: CentreWorld) -> None:
    w = world
    w.clock.set(datetime(2027, 1, 4, 6, 30, tzinfo=JST))
    assert w.open(w.kiosk()).state == "open"


def test_downloaded_document_may_finish_within_the_grace_period(world: CentreWorld) -> None:
    """Downloaded at 22:58: paying at 23:04 and completing at 23:09:59 are allowed."""
    w = world
    w.clock.set(datetime(2026, 11, 24, 22, 55, tzinfo=JST))
    creds = w.jpki_holder(0, CITY, w.find(CITY, "eligible", 5))
    kiosk = w.kiosk()
    sid = w.jpki_login(kiosk, creds).session_id
    receipt = kiosk.request_certificate(sid, "resident_record")
    w.clock.set(datetime(2026, 11, 24, 22, 58, tzinfo=JST))
    kiosk.download(sid, receipt.request_id)
    w.clock.set(datetime(2026, 11, 24, 23, 4, tzinfo=JST))
    with pytest.raises(CentreApiError) as exc:
        kiosk.request_certificate(sid, "resident_record")  # nothing new after 23:00
    assert _code(exc) == "centre_closed"
    kiosk.confirm_payment(sid, receipt.request_id, receipt.total_fee)
    kiosk.download(sid, receipt.request_id)  # a re-download for a paper jam retry is fine
    w.clock.set(datetime(2026, 11, 24, 23, 9, 59, tzinfo=JST))
    done = kiosk.complete(sid, receipt.request_id, "printed", 1)
    assert done.state == "completed"
    assert w.centre.records.count() == 1
    assert w.centre.held_documents() == 0


def test_undownloaded_document_cannot_start_after_closing(world: CentreWorld) -> None:
    w = world
    w.clock.set(datetime(2026, 11, 24, 22, 57, tzinfo=JST))
    creds = w.jpki_holder(0, CITY, w.find(CITY, "eligible", 6))
    kiosk = w.kiosk()
    sid = w.jpki_login(kiosk, creds).session_id
    receipt = kiosk.request_certificate(sid, "resident_record")
    w.clock.set(datetime(2026, 11, 24, 23, 0, 1, tzinfo=JST))
    for call in (
        lambda: kiosk.download(sid, receipt.request_id),
        lambda: kiosk.confirm_payment(sid, receipt.request_id, receipt.total_fee),
    ):
        with pytest.raises(CentreApiError) as exc:
            call()
        assert _code(exc) == "centre_closed"
    with pytest.raises(CentreApiError) as exc:
        kiosk.complete(sid, receipt.request_id, "printed", 1)
    assert _code(exc) == "document_not_downloaded"
    kiosk.cancel_request(sid, receipt.request_id)  # cancelling is always allowed
    assert w.centre.held_documents() == 0


def test_grace_ends_the_transaction_and_deletes_the_document(world: CentreWorld) -> None:
    w = world
    w.clock.set(datetime(2026, 11, 24, 22, 59, tzinfo=JST))
    creds = w.jpki_holder(0, CITY, w.find(CITY, "eligible", 7))
    kiosk = w.kiosk()
    sid = w.jpki_login(kiosk, creds).session_id
    receipt = kiosk.request_certificate(sid, "resident_record")
    kiosk.download(sid, receipt.request_id)
    assert w.centre.held_documents() == 1
    # the scheduled purge runs when the rig clock reaches 23:10:00, with no kiosk call
    w.clock.set(datetime(2026, 11, 24, 23, 0, tzinfo=JST) + GRACE)
    assert w.centre.service.sessions.held_documents() == 0
    with pytest.raises(CentreApiError) as exc:
        kiosk.confirm_payment(sid, receipt.request_id, receipt.total_fee)
    assert (exc.value.status, _code(exc)) == (410, "session_expired")
    assert w.centre.records.count() == 0
    # the municipality was told the document was not printed
    stats = w.municipal.service.statistics(CITY, receipt.issued_at.date(), receipt.issued_at.date())
    assert stats["totals"]["documents"] == 1 and stats["totals"]["printed_copies"] == 0
    assert stats["by_type"][0]["cancelled_documents"] == 1


def test_session_lifetime_timeout_on_the_rig_clock(world: CentreWorld) -> None:
    w = world
    creds = w.jpki_holder(0, CITY, w.find(CITY, "eligible", 8))
    kiosk = w.kiosk()
    sid = w.jpki_login(kiosk, creds).session_id
    receipt = kiosk.request_certificate(sid, "resident_record")
    w.clock.advance(SESSION_LIFETIME - timedelta(seconds=1))
    assert w.centre.held_documents() == 1
    kiosk.request_status(sid, receipt.request_id)
    w.clock.advance(1)
    assert w.centre.service.sessions.held_documents() == 0
    with pytest.raises(CentreApiError) as exc:
        kiosk.session(sid)
    assert _code(exc) == "session_expired"


def test_centre_maintenance_incident(world: CentreWorld) -> None:
    w = world
    now = w.clock.now()
    w.centre.faults.maintenance(now + timedelta(minutes=5), now + timedelta(minutes=35), "定期保守")
    kiosk = w.kiosk()
    w.open(kiosk)
    w.clock.advance(timedelta(minutes=5))
    with pytest.raises(CentreApiError) as exc:
        w.open(kiosk)
    assert _code(exc) == "centre_maintenance" and exc.value.retry_after == "1800"
    w.clock.advance(timedelta(minutes=30))
    w.open(kiosk)

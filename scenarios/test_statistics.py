"""The centre's issuance statistics (seed I.2 (2), II.7.4): what is counted, and where.

Judged through the settlement route a municipal system reads with its LGPKI certificate
(`GET /v1/settlement`) and the statistics file the centre keeps in its state folder (the
`issuance` table documented in docs/centre.md), never through the centre's objects.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

import pytest

from rig.core.clock import JST
from rig.core.drivers.centre_client import CentreApiError, CentreClient
from rig.core.https import https_client
from rig.harness.world import CITY, SMALL_TOWN, World
from scenarios.support import KioskSide

pytestmark = pytest.mark.world(marks="layout")


def settlement(world: World, code: str, month: str | None = None) -> list[dict[str, Any]]:
    """What municipality `code` reads from the centre with its LGPKI certificate."""
    with CentreClient(
        world.endpoints["center_url"],
        client=world.tls.lgpki_client(code),
        server_ca=world.tls.server_ca,
    ) as municipal:
        return municipal.settlement(month, code)


def statistics_rows(world: World) -> list[dict[str, Any]]:
    """The centre's statistics file, read-only, as a report reader would."""
    path = world.centre.state_dir / "centre.sqlite"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM issuance ORDER BY id")]
    finally:
        db.close()


def jpki_session(world: World, kiosk: KioskSide, code: str = CITY, index: int = 0) -> str:
    card = world.issue_card("mynumber-valid", world.resident(code, index=index), code=code)
    session_id, _ = kiosk.login_jpki(card)
    return session_id


def jpki_session_of(world: World, kiosk: KioskSide, resident: str, code: str = CITY) -> str:
    session_id, _ = kiosk.login_jpki(world.issue_card("mynumber-valid", resident, code=code))
    return session_id


@pytest.mark.requirement("STAT-001")
@pytest.mark.smoke
@pytest.mark.parametrize("copies", [1, 2, 3])
def test_each_copy_printed_is_counted(backend: World, copies: int) -> None:
    kiosk = KioskSide.connect(backend)
    try:
        session_id = jpki_session(backend, kiosk)
        done, _ = kiosk.issue(session_id, "resident_record", copies=copies)
    finally:
        kiosk.close()
    assert done.copies_printed == copies
    [row] = settlement(backend, CITY, "2026-11")
    assert (row["issuances"], row["copies"]) == (1, copies)
    [stat] = statistics_rows(backend)
    assert (stat["municipality"], stat["cert_type"], stat["copies"]) == (
        CITY,
        "resident_record",
        copies,
    )
    assert stat["issued_at"].startswith("2026-11-24T10:00")


@pytest.mark.requirement("STAT-001", "STAT-003")
def test_a_jam_after_one_copy_counts_the_copy_printed(backend: World) -> None:
    kiosk = KioskSide.connect(backend)
    try:
        session_id = jpki_session(backend, kiosk)
        receipt = kiosk.client.request_certificate(session_id, "resident_record", copies=3)
        kiosk.client.download(session_id, receipt.request_id)
        kiosk.client.confirm_payment(session_id, receipt.request_id, receipt.total_fee)
        kiosk.client.complete(session_id, receipt.request_id, "failed", 1)
    finally:
        kiosk.close()
    [row] = settlement(backend, CITY)
    assert row["copies"] == 1
    assert row["fees"] == receipt.fee_per_copy


@pytest.mark.requirement("STAT-001")
def test_counts_are_per_type_and_day(backend: World) -> None:
    kiosk = KioskSide.connect(backend)
    try:
        session_id = jpki_session(backend, kiosk)
        kiosk.issue(session_id, "resident_record", copies=2)
        kiosk.issue(session_id, "resident_record_entries")
        backend.clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=JST))
        session_id = jpki_session(backend, kiosk)
        kiosk.issue(session_id, "resident_record")
    finally:
        kiosk.close()
    per_type_day: dict[tuple[str, str], int] = {}
    for r in statistics_rows(backend):
        key = (r["cert_type"], r["issued_at"][:10])
        per_type_day[key] = per_type_day.get(key, 0) + r["copies"]
    assert per_type_day == {
        ("resident_record", "2026-11-24"): 2,
        ("resident_record_entries", "2026-11-24"): 1,
        ("resident_record", "2026-11-25"): 1,
    }


@pytest.mark.requirement("STAT-002")
def test_the_place_of_issue_is_recorded(backend: World) -> None:
    places = [("store-tokyo-0007", "konbini-a"), ("store-osaka-0042", "konbini-b")]
    for store, operator in places:
        kiosk = KioskSide.connect(backend, store_id=store, operator_id=operator)
        try:
            kiosk.issue(jpki_session(backend, kiosk), "resident_record")
        finally:
            kiosk.close()
    rows = statistics_rows(backend)
    assert [(r["store_id"], r["operator_id"]) for r in rows] == places


@pytest.mark.requirement("STAT-003")
@pytest.mark.parametrize("ending", ["cancelled", "failed-nothing-printed", "expired", "refused"])
def test_what_was_not_issued_is_not_counted(backend: World, ending: str) -> None:
    kiosk = KioskSide.connect(backend)
    try:
        if ending == "refused":
            card = backend.issue_card("mynumber-valid", backend.resident(trait="dv_protected"))
            with pytest.raises(CentreApiError) as refused:
                kiosk.login_jpki(card)
            assert refused.value.problem["code"] == "support_measure"
        else:
            session_id = jpki_session(backend, kiosk)
            receipt = kiosk.client.request_certificate(session_id, "resident_record")
            kiosk.client.download(session_id, receipt.request_id)
            kiosk.client.confirm_payment(session_id, receipt.request_id, receipt.total_fee)
            if ending == "cancelled":
                kiosk.client.cancel_request(session_id, receipt.request_id)
            elif ending == "failed-nothing-printed":
                kiosk.client.complete(session_id, receipt.request_id, "failed", 0)
            else:
                backend.clock.advance(timedelta(minutes=16).total_seconds())
                with pytest.raises(CentreApiError) as late:
                    kiosk.client.complete(session_id, receipt.request_id, "printed", 1)
                assert late.value.status == 410
    finally:
        kiosk.close()
    assert settlement(backend, CITY) == []
    assert statistics_rows(backend) == []


@pytest.mark.requirement("STAT-006")
def test_monthly_fees_and_commission_per_municipality(backend: World) -> None:
    backend.clock.set(datetime(2026, 11, 30, 22, 30, tzinfo=JST))
    kiosk = KioskSide.connect(backend)
    try:
        _, _ = kiosk.issue(jpki_session(backend, kiosk, CITY), "resident_record", copies=2)
        backend.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=JST))
        kiosk.issue(jpki_session(backend, kiosk, CITY), "resident_record")
        kiosk.issue(jpki_session(backend, kiosk, SMALL_TOWN), "resident_record", copies=3)
    finally:
        kiosk.close()
    [nov] = settlement(backend, CITY, "2026-11")
    assert (nov["copies"], nov["fees"], nov["commission"], nov["net"]) == (2, 400, 246, 154)
    [dec] = settlement(backend, CITY, "2026-12")
    assert (dec["copies"], dec["fees"], dec["commission"]) == (1, 200, 123)
    [town] = settlement(backend, SMALL_TOWN, "2026-12")
    assert (town["copies"], town["fees"], town["commission"], town["net"]) == (3, 450, 369, 81)


def server_statistics(world: World, code: str = CITY) -> dict[str, Any]:
    """The issuance server's own counts, as the centre reads them on LGWAN."""
    with https_client(
        world.municipal_urls[code], client=world.lgwan_client_cert(),
        server_ca=world.lgwan_ca(),
    ) as lgwan:  # fmt: skip
        answer = lgwan.get("/statistics")
    assert answer.status_code == 200, answer.text
    totals: dict[str, Any] = answer.json()["totals"]
    return totals


@pytest.mark.requirement("STAT-001", "STAT-006")
@pytest.mark.parametrize("copies", [1, 3])
def test_a_multi_page_copy_counts_once_at_the_centre_and_the_server(
    backend: World, copies: int
) -> None:
    """A whole-household 住民票 of 8 or more prints on several sheets; the commission and the
    statistics count copies (通), so 3 copies of it are 3, not 3 × its sheets."""
    before = server_statistics(backend)
    kiosk = KioskSide.connect(backend)
    try:
        session_id = jpki_session_of(backend, kiosk, backend.resident(CITY, "household_of_8"))
        done, _ = kiosk.issue(session_id, "resident_record", copies=copies)
    finally:
        kiosk.close()
    assert done.pages >= 2, "the document is a multi-page one"
    [row] = settlement(backend, CITY)
    assert (row["copies"], row["fees"]) == (copies, copies * done.fee_per_copy)
    assert row["commission"] == 123 * copies
    [stat] = statistics_rows(backend)
    assert stat["copies"] == copies
    after = server_statistics(backend)
    assert after["copies"] - before["copies"] == copies
    assert after["printed_copies"] - before["printed_copies"] == copies
    assert after["pages"] - before["pages"] == copies * done.pages
    assert after["fees"] - before["fees"] == copies * done.fee_per_copy


@pytest.mark.requirement("STAT-001", "STAT-003")
def test_a_jam_inside_a_multi_page_copy_counts_only_whole_copies(backend: World) -> None:
    """3 copies of a multi-page document, the kiosk reports one copy printed whole: one copy
    is counted and charged, at the centre and at the server, never the sheets."""
    before = server_statistics(backend)
    kiosk = KioskSide.connect(backend)
    try:
        session_id = jpki_session_of(backend, kiosk, backend.resident(CITY, "household_of_8"))
        receipt = kiosk.client.request_certificate(session_id, "resident_record", copies=3)
        assert receipt.pages >= 2
        kiosk.client.download(session_id, receipt.request_id)
        kiosk.client.confirm_payment(session_id, receipt.request_id, receipt.total_fee)
        kiosk.client.complete(session_id, receipt.request_id, "failed", 1)
    finally:
        kiosk.close()
    [row] = settlement(backend, CITY)
    assert (row["copies"], row["fees"]) == (1, receipt.fee_per_copy)
    after = server_statistics(backend)
    assert after["printed_copies"] - before["printed_copies"] == 1


@pytest.mark.requirement("STAT-001", "STAT-006")
@pytest.mark.parametrize(
    ("last", "first", "months"),
    [
        ("2027-03-31T22:59:00", "2027-04-01T06:30:00", ("2027-03", "2027-04")),
        ("2026-12-28T22:59:00", "2027-01-04T06:30:00", ("2026-12", "2027-01")),
    ],
    ids=["fiscal-year-end", "calendar-year-end"],
)
def test_the_last_and_first_issuance_of_a_year_fall_in_their_own_months(
    backend: World, last: str, first: str, months: tuple[str, str]
) -> None:
    """The last issuance before the fiscal-year (31 March) or calendar-year end (the last
    day before the closure) and the first after it are counted in their own months."""
    kiosk = KioskSide.connect(backend)
    try:
        for when, copies in ((last, 2), (first, 1)):
            backend.clock.set(datetime.fromisoformat(when).replace(tzinfo=JST))
            kiosk.issue(jpki_session(backend, kiosk), "resident_record", copies=copies)
    finally:
        kiosk.close()
    [before] = settlement(backend, CITY, months[0])
    [after] = settlement(backend, CITY, months[1])
    assert (before["copies"], after["copies"]) == (2, 1)
    assert (before["commission"], after["commission"]) == (246, 123)
    days = sorted({r["issued_at"][:10] for r in statistics_rows(backend)})
    assert days == [last[:10], first[:10]]

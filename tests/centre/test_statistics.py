"""Statistics in SQLite: one row per issuance, no personal data, settlement, restarts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from emulators.centre import IssuanceCentre
from emulators.centre.statistics import CentreRecords, IssuanceRow
from rig.core.clock import JST
from rig.core.protocols.centre import COMMISSION_PER_COPY_YEN

from .conftest import CITY, CentreWorld


def _row(n: int, code: str, copies: int, fee: int, when: datetime) -> IssuanceRow:
    return IssuanceRow(
        f"req-{n}",
        code,
        "store-1",
        "konbini-a",
        "kiosk-0001",
        "resident_record",
        None,
        copies,
        fee,
        when,
    )


def test_settlement_per_municipality_and_month(tmp_path: Path) -> None:
    records = CentreRecords(tmp_path / "centre.sqlite")
    nov = datetime(2026, 11, 30, 22, 0, tzinfo=JST)
    dec = datetime(2026, 12, 1, 7, 0, tzinfo=JST)
    records.record_issuance(_row(1, "991015", 2, 200, nov))
    records.record_issuance(_row(2, "991015", 1, 350, nov))
    records.record_issuance(_row(3, "991015", 1, 200, dec))
    records.record_issuance(_row(4, "993026", 3, 10, nov))  # a 10-yen fee: the net is negative
    rows = {(r["municipality"], r["month"]): r for r in records.settlement()}
    city = rows[("991015", "2026-11")]
    assert (city["issuances"], city["copies"], city["fees"]) == (2, 3, 750)
    assert city["commission"] == 3 * COMMISSION_PER_COPY_YEN == 369
    assert city["net"] == 750 - 369
    assert rows[("991015", "2026-12")]["copies"] == 1
    town = rows[("993026", "2026-11")]
    assert (town["fees"], town["commission"], town["net"]) == (30, 369, -339)
    assert [r["month"] for r in records.settlement(municipality="991015")] == ["2026-11", "2026-12"]
    records.close()


def test_a_request_is_counted_once_and_survives_a_restart(tmp_path: Path) -> None:
    when = datetime(2026, 11, 24, 10, 0, tzinfo=JST)
    records = CentreRecords(tmp_path / "centre.sqlite")
    assert records.record_issuance(_row(1, "991015", 1, 200, when))
    assert not records.record_issuance(_row(1, "991015", 1, 200, when))
    records.register_jpki_holder(0xABCDEF, "991015")
    records.close()
    again = CentreRecords(tmp_path / "centre.sqlite")
    assert again.count() == 1
    assert again.jpki_municipality(0xABCDEF) == "991015"
    row = again.issuances()[0]
    assert set(row) == {
        "id",
        "request_id",
        "municipality",
        "store_id",
        "operator_id",
        "kiosk_id",
        "cert_type",
        "variant",
        "copies",
        "fee_per_copy",
        "fee_total",
        "issued_at",
        "month",
    }
    again.close()


def test_centre_restart_keeps_statistics_and_holder_links(world: CentreWorld) -> None:
    w = world
    creds = w.jpki_holder(0, CITY, w.find(CITY, "eligible", 22))
    with w.kiosk() as kiosk:
        sid = w.jpki_login(kiosk, creds).session_id
        receipt = kiosk.request_certificate(sid, "resident_record", copies=3)
        kiosk.download(sid, receipt.request_id)
        kiosk.confirm_payment(sid, receipt.request_id, receipt.total_fee)
        kiosk.complete(sid, receipt.request_id, "printed", 3)
    month = f"{w.clock.now():%Y-%m}"
    before = w.centre.settlement(month)
    w.centre.stop()
    w.centre = IssuanceCentre(
        w.clock, None, w.centre.state_dir, w.tls, w.municipal_urls, w.ocsp.url,
        w.authority.auth_ca_cert,
    )  # fmt: skip
    w.urls = w.centre.start()
    assert w.centre.settlement(month) == before
    assert before[0]["copies"] == 3 and before[0]["fees"] == receipt.total_fee
    with w.kiosk() as kiosk:  # the holder link survived too: JPKI still routes
        sid = w.jpki_login(kiosk, creds).session_id
        assert kiosk.session(sid).municipality_code == CITY

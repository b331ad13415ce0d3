"""The kiosk's whole transaction through the centre, both authentication methods."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from rig.core.drivers.centre_client import CentreApiError
from rig.core.protocols.centre import COMMISSION_PER_COPY_YEN

from .conftest import CITY, SMALL_TOWN, CentreWorld

MARK = re.compile(r"RID:(\S+) DOC:(\S+) MUNI:(\d{6}) PAGE:(\d+)/(\d+)")


def _rids(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    found = []
    for page in reader.pages:
        mark = MARK.search(page.extract_text())
        assert mark is not None
        found.append(mark.group(1))
    return found


def test_jpki_transaction_issues_counts_and_forgets(shared: CentreWorld) -> None:
    w = shared
    rid = w.find(CITY, "household_of_3")
    creds = w.jpki_holder(0, CITY, rid)
    before = w.centre.records.count()
    with w.kiosk() as kiosk:
        session = w.jpki_login(kiosk, creds)
        sid = session.session_id
        state = kiosk.session(sid)
        assert (state.state, state.method, state.municipality_code) == (
            "authenticated",
            "jpki",
            CITY,
        )
        menu = kiosk.menu(sid)
        assert menu["municipality"]["code"] == CITY
        fee = next(i["fee"] for i in menu["certificates"] if i["type"] == "resident_record")
        receipt = kiosk.request_certificate(sid, "resident_record", copies=2)
        assert (receipt.state, receipt.copies, receipt.fee_per_copy) == ("issued", 2, fee)
        assert receipt.total_fee == 2 * fee
        assert w.centre.held_documents() == 1
        pdf = kiosk.download(sid, receipt.request_id)
        assert pdf.startswith(b"%PDF-")
        assert set(_rids(pdf)) == {rid}
        paid = kiosk.confirm_payment(sid, receipt.request_id, receipt.total_fee)
        assert paid.paid_yen == receipt.total_fee
        done = kiosk.complete(sid, receipt.request_id, "printed", 2)
        assert (done.state, done.copies_printed) == ("completed", 2)
        assert w.centre.held_documents() == 0
        kiosk.end_session(sid)
    rows = w.centre.records.issuances(CITY)
    assert w.centre.records.count() == before + 1
    row = rows[-1]
    assert (row["kiosk_id"], row["store_id"], row["operator_id"]) == (
        "kiosk-0001",
        "store-001",
        "konbini-a",
    )
    assert (row["cert_type"], row["copies"], row["fee_total"]) == ("resident_record", 2, 2 * fee)
    assert rid not in str(row)  # no personal data in statistics
    month = row["month"]
    settlement = {r["municipality"]: r for r in w.centre.settlement(month)}
    city = settlement[CITY]
    assert city["commission"] == COMMISSION_PER_COPY_YEN * city["copies"]
    assert city["net"] == city["fees"] - city["commission"]


def test_card_ap_transaction_with_pin(shared: CentreWorld) -> None:
    w = shared
    rid = w.find(SMALL_TOWN, "seal_registered")
    user = w.card_user(rid)
    with w.kiosk() as kiosk:
        session = w.card_login(kiosk, user)
        sid = session.session_id
        receipt = kiosk.request_certificate(sid, "seal_registration")
        assert receipt.paper == "A5"
        pdf = kiosk.download(sid, receipt.request_id)
        page = PdfReader(io.BytesIO(pdf)).pages[0]
        # A5 content placed on A4
        assert (
            round(float(page.mediabox.width)) == 595 and round(float(page.mediabox.height)) == 842
        )
        assert _rids(pdf) == [rid]
        kiosk.confirm_payment(sid, receipt.request_id, receipt.total_fee)
        kiosk.complete(sid, receipt.request_id, "printed", 1)
        kiosk.end_session(sid)
    assert w.centre.held_documents() == 0


def test_wrong_pin_is_relayed_with_tries_left(shared: CentreWorld) -> None:
    w = shared
    user = w.card_user(w.find(SMALL_TOWN, "eligible", 3))
    with w.kiosk() as kiosk:
        session = w.open(kiosk)
        sid = session.session_id
        ch = kiosk.card_ap_challenge(sid, user.info.municipality_code, user.info.user_id)
        kiosk.authenticate_card_ap(sid, ch.challenge, user.respond(ch.challenge))
        with pytest.raises(CentreApiError) as exc:
            kiosk.verify_pin(sid, "0000" if user.pin != "0000" else "1111")
        assert exc.value.code == "pin_incorrect"
        assert exc.value.source == "municipality"
        assert exc.value.problem["tries_left"] == 2
        with pytest.raises(CentreApiError) as exc:
            kiosk.menu(sid)
        assert exc.value.code == "not_authenticated"
        kiosk.verify_pin(sid, user.pin)
        assert kiosk.session(sid).state == "authenticated"
        kiosk.end_session(sid)

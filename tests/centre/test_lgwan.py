"""The centre's link to municipalities: routing, LGWAN outages, unreachable servers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rig.core.drivers.centre_client import CentreApiError

from .conftest import CITY, SMALL_TOWN, CentreWorld


def test_unknown_municipality(world: CentreWorld) -> None:
    kiosk = world.kiosk()
    session = world.open(kiosk)
    with pytest.raises(CentreApiError) as exc:
        kiosk.card_ap_challenge(session.session_id, "012345", "CARD000000000001")
    assert (exc.value.status, exc.value.code) == (404, "municipality_unknown")


def test_lgwan_outage_for_one_municipality(world: CentreWorld) -> None:
    w = world
    now = w.clock.now()
    w.centre.faults.lgwan_outage(now, now + timedelta(hours=4, minutes=35), SMALL_TOWN, "LGWAN障害")
    kiosk = w.kiosk()
    town_user = w.card_user(w.find(SMALL_TOWN, "eligible", 2))
    session = w.open(kiosk)
    with pytest.raises(CentreApiError) as exc:
        kiosk.card_ap_challenge(session.session_id, SMALL_TOWN, town_user.info.user_id)
    assert (exc.value.status, exc.value.code) == (503, "lgwan_unavailable")
    assert exc.value.problem["message_ja"]
    # another municipality is reachable
    city_user = w.card_user(w.find(CITY, "eligible", 9))
    w.card_login(kiosk, city_user)
    w.clock.advance(timedelta(hours=4, minutes=35))
    w.card_login(kiosk, town_user)


def test_outage_mid_transaction_owes_the_result_and_delivers_it_later(world: CentreWorld) -> None:
    w = world
    kiosk = w.kiosk()
    creds = w.jpki_holder(0, CITY, w.find(CITY, "eligible", 10))
    sid = w.jpki_login(kiosk, creds).session_id
    receipt = kiosk.request_certificate(sid, "resident_record")
    kiosk.download(sid, receipt.request_id)
    kiosk.confirm_payment(sid, receipt.request_id, receipt.total_fee)
    now = w.clock.now()
    w.centre.faults.lgwan_outage(now, now + timedelta(minutes=30))
    # the customer has the paper: completion succeeds and is counted despite the outage
    done = kiosk.complete(sid, receipt.request_id, "printed", 1)
    assert done.state == "completed"
    assert w.centre.records.count() == 1
    assert len(w.centre.records.owed_results(CITY)) == 1
    with pytest.raises(CentreApiError) as exc:
        kiosk.menu(sid)
    assert exc.value.code == "lgwan_unavailable"
    kiosk.end_session(sid)
    w.clock.advance(timedelta(minutes=30))
    # the next result report to that municipality also delivers what was owed
    other = w.jpki_holder(1, CITY, w.find(CITY, "eligible", 11))
    sid2 = w.jpki_login(kiosk, other).session_id
    second = kiosk.request_certificate(sid2, "resident_record")
    kiosk.cancel_request(sid2, second.request_id)
    assert w.centre.records.owed_results(CITY) == []
    day = receipt.issued_at.date()
    stats = w.municipal.service.statistics(CITY, day, day)
    assert stats["totals"]["printed_copies"] == 1


def test_municipal_server_down(world: CentreWorld) -> None:
    w = world
    kiosk = w.kiosk()
    user = w.card_user(w.find(CITY, "eligible", 12))
    session = w.open(kiosk)
    w.municipal.http.stop()
    with pytest.raises(CentreApiError) as exc:
        kiosk.card_ap_challenge(session.session_id, CITY, user.info.user_id)
    assert (exc.value.status, exc.value.code) == (502, "municipality_unreachable")


def test_municipal_refusals_are_relayed(world: CentreWorld) -> None:
    w = world
    kiosk = w.kiosk()
    creds = w.jpki_holder(0, CITY, w.find(CITY, "under_15"))
    session = w.open(kiosk)
    assert session.nonce is not None
    with pytest.raises(CentreApiError) as exc:
        kiosk.authenticate_jpki(
            session.session_id, creds.auth_cert, w.sign(creds, session.nonce), session.nonce
        )
    assert (exc.value.status, exc.value.code, exc.value.source) == (403, "under_15", "municipality")
    assert exc.value.problem["message_ja"]

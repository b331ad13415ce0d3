"""Who the issuance server refuses, and with which code (seed I.1 (4), I.4.3; notes: refusals).

The rig plays the centre's kiosks (`KioskSide`) against the issuance server and judges each
refusal by what reaches the kiosk side: the HTTP status, the problem `code` relayed with
`source: municipality`, and the guidance (`message_ja`) a kiosk shows. Residents are picked
by trait from the registry; a few cases change the registry first (a seal cancelled at the
counter a moment before the request), which is set-up, never the verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from emulators.card import BuiltCard
from rig.core.clock import JST
from rig.core.drivers.centre_client import CentreApiError
from rig.core.https import https_client
from rig.core.municipal_test_data import NotInTestData
from rig.core.protocols import card_ap
from rig.core.protocols.apdu import select_aid
from rig.core.protocols.centre import CertTypeName
from rig.harness.municipal_registry import Counter
from rig.harness.world import (
    CARD_AP_ONLY_VILLAGE,
    CITY,
    JPKI_ONLY_CITY,
    KOSEKI_TOWN,
    SMALL_TOWN,
    World,
)
from scenarios.support import KioskSide, resident_ids_in

pytestmark = [pytest.mark.municipal_server, pytest.mark.world(marks="layout")]

MUNICIPALITIES = (CITY, SMALL_TOWN, KOSEKI_TOWN)


@pytest.fixture
def kiosk(backend: World) -> Iterator[KioskSide]:
    side = KioskSide.connect(backend)
    yield side
    side.close()


def refusal(call: Callable[[], Any]) -> CentreApiError:
    with pytest.raises(CentreApiError) as refused:
        call()
    return refused.value


def assert_municipal(exc: CentreApiError, status: int, code: str) -> None:
    assert (exc.status, exc.code, exc.source) == (status, code, "municipality"), exc.problem
    assert exc.problem.get("message_ja"), "a refusal carries guidance for the screen"


def card_for(world: World, rid: str, method: str, code: str = CITY) -> BuiltCard:
    return world.issue_card(
        "mynumber-valid" if method == "jpki" else "juki-card-ap", rid, code=code
    )


def login(kiosk: KioskSide, card: BuiltCard, method: str) -> str:
    sid, _ = kiosk.login_jpki(card) if method == "jpki" else kiosk.login_card_ap(card)
    return sid


def card_answer(card: BuiltCard, challenge: bytes) -> bytes:
    """The card's own INTERNAL AUTHENTICATE answer, as it would come back from the reader."""
    card.card.execute(select_aid(card_ap.AID_CARD_AP))
    answer = card.card.execute(card_ap.internal_authenticate(challenge))
    assert answer[-2:] == b"\x90\x00"
    return answer[:-2]


def card_ap_until_pin(kiosk: KioskSide, card: BuiltCard) -> str:
    """Card AP authentication up to (not including) the PIN; the session id."""
    info = card.card_ap_info
    assert info is not None
    sid = kiosk.open().session_id
    challenge = kiosk.client.card_ap_challenge(sid, info.municipality_code, info.user_id)
    result = kiosk.client.authenticate_card_ap(
        sid, challenge.challenge, card_answer(card, challenge.challenge)
    )
    assert result.pin_required
    return sid


# -- refused at authentication --------------------------------------------------------------


@pytest.mark.parametrize("method", ["jpki", "card_ap"])
@pytest.mark.parametrize(
    ("trait", "code"),
    [
        pytest.param("dv_protected", "support_measure", marks=pytest.mark.requirement("CERT-020")),
        pytest.param("deceased", "resident_deceased", marks=pytest.mark.requirement("CERT-021")),
        pytest.param("under_15", "under_15", marks=pytest.mark.requirement("CERT-024")),
    ],
)
def test_refused_at_authentication(
    backend: World, kiosk: KioskSide, trait: str, code: str, method: str
) -> None:
    rid = backend.resident(CITY, trait)
    exc = refusal(lambda: login(kiosk, card_for(backend, rid, method), method))
    assert_municipal(exc, 403, code)
    if code == "support_measure":
        assert "窓口" in exc.problem["message_ja"]  # sent to the counter


# -- refused at the request, and shown as unavailable on the menu ----------------------------


REQUEST_REFUSALS = [
    pytest.param(
        "household_moving_out", "resident_record", "household_moving_out",
        marks=pytest.mark.requirement("CERT-019"), id="moving_out-resident_record",
    ),
    pytest.param(
        "household_moving_out", "resident_record_entries", "household_moving_out",
        marks=pytest.mark.requirement("CERT-019"), id="moving_out-entries",
    ),
    pytest.param(
        "moving_out", "resident_record", "household_moving_out",
        marks=pytest.mark.requirement("CERT-019"), id="mover_themself",
    ),
    pytest.param(
        "non_jis_name", "resident_record", "name_outside_charset",
        marks=pytest.mark.requirement("CERT-022"), id="gaiji-resident_record",
    ),
    pytest.param(
        "non_jis_name", "resident_record_entries", "name_outside_charset",
        marks=pytest.mark.requirement("CERT-022"), id="gaiji-entries",
    ),
    pytest.param(
        "moved_in_today", "resident_record", "moved_in_today",
        marks=pytest.mark.requirement("CERT-023"), id="moved_in_today",
    ),
    pytest.param(
        "seal_cancelled", "seal_registration", "seal_cancelled",
        marks=pytest.mark.requirement("CERT-028"), id="seal_cancelled",
    ),
    pytest.param(
        "no_seal", "seal_registration", "seal_not_registered",
        marks=pytest.mark.requirement("CERT-003"), id="no_seal",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("trait", "cert_type", "code"), REQUEST_REFUSALS)
def test_refused_at_the_request(
    backend: World, kiosk: KioskSide, trait: str, cert_type: CertTypeName, code: str
) -> None:
    rid = backend.resident(CITY, trait)
    sid = login(kiosk, card_for(backend, rid, "jpki"), "jpki")
    entry = next(c for c in kiosk.client.menu(sid)["certificates"] if c["type"] == cert_type)
    assert not entry["available"] and entry["refusal"]["code"] == code
    exc = refusal(lambda: kiosk.client.request_certificate(sid, cert_type))
    assert_municipal(exc, 403, code)
    if code == "name_outside_charset":
        assert "窓口" in exc.problem["message_ja"]


@pytest.mark.municipal_clock
@pytest.mark.requirement("CERT-023")
def test_moved_in_today_is_served_from_the_next_day(backend: World, kiosk: KioskSide) -> None:
    rid = backend.resident(CITY, "moved_in_today")
    card = card_for(backend, rid, "jpki")
    sid = login(kiosk, card, "jpki")
    assert_municipal(refusal(lambda: kiosk.client.request_certificate(sid, "resident_record")),
                     403, "moved_in_today")  # fmt: skip
    kiosk.client.end_session(sid)
    backend.clock.set(backend.clock.now() + timedelta(days=1))
    sid = login(kiosk, card, "jpki")
    _, pdf = kiosk.issue(sid, "resident_record", options={"scope": "self"})
    assert resident_ids_in(pdf) == [rid]


@pytest.mark.municipal_registry
@pytest.mark.municipal_clock
@pytest.mark.requirement("CERT-028")
@pytest.mark.parametrize("method", ["jpki", "card_ap"])
def test_seal_cancelled_moments_before_the_request(
    backend: World, counter: Counter, kiosk: KioskSide, method: str
) -> None:
    rid = backend.resident(CITY, "seal_registered")
    sid = login(kiosk, card_for(backend, rid, method), method)
    _, pdf = kiosk.issue(sid, "seal_registration")
    assert resident_ids_in(pdf) == [rid]
    # set-up: the counter cancels the registration (廃止) one minute later
    backend.clock.advance(60)
    counter.cancel_seals(rid, backend.clock.now().date())
    backend.clock.advance(1)
    exc = refusal(lambda: kiosk.client.request_certificate(sid, "seal_registration"))
    assert_municipal(exc, 403, "seal_cancelled")


# -- 本籍 elsewhere: 利用登録申請 --------------------------------------------------------------


def _honseki_case(world: World, counter: Counter, trait: str) -> tuple[str, str]:
    for code in MUNICIPALITIES:
        try:
            found = world.residents(code, trait)
        except NotInTestData:  # an external server hosting only some test municipalities
            continue
        for rid in found:
            honseki = counter.resident(rid).honseki_code
            if honseki is not None:
                return rid, honseki
    raise AssertionError(f"no resident with the trait {trait}")


@pytest.mark.municipal_registry
@pytest.mark.requirement("CERT-025")
def test_honseki_elsewhere_without_registration_is_refused(
    backend: World, counter: Counter, kiosk: KioskSide
) -> None:
    rid, honseki = _honseki_case(backend, counter, "honseki_elsewhere_unregistered")
    exc = refusal(lambda: login(kiosk, card_for(backend, rid, "jpki", honseki), "jpki"))
    assert_municipal(exc, 403, "koseki_not_registered")


@pytest.mark.municipal_registry
@pytest.mark.requirement("CERT-025")
def test_honseki_elsewhere_registered_gets_koseki_only(
    backend: World, counter: Counter, kiosk: KioskSide
) -> None:
    rid, honseki = _honseki_case(backend, counter, "honseki_elsewhere_registered")
    sid = login(kiosk, card_for(backend, rid, "jpki", honseki), "jpki")
    wanted: list[tuple[CertTypeName, str | None]] = [("koseki", "full"), ("fuhyo", None)]
    for cert_type, variant in wanted:
        _, pdf = kiosk.issue(sid, cert_type, variant=variant)
        ids = resident_ids_in(pdf)
        assert ids and set(ids) == {rid}
    exc = refusal(lambda: kiosk.client.request_certificate(sid, "resident_record"))
    assert_municipal(exc, 403, "not_a_resident")


def _business_days_after(day: date, n: int, holidays: set[date]) -> date:
    while n:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            n -= 1
    return day


@pytest.mark.municipal_clock
@pytest.mark.municipal_registry
@pytest.mark.requirement("CERT-026", "CERT-025")
def test_honseki_registration_takes_effect_after_five_business_days(
    backend: World, counter: Counter, kiosk: KioskSide
) -> None:
    rid, honseki = _honseki_case(backend, counter, "honseki_elsewhere_pending")
    card = card_for(backend, rid, "jpki", honseki)
    exc = refusal(lambda: login(kiosk, card, "jpki"))
    assert_municipal(exc, 403, "koseki_registration_pending")
    filed = backend.clock.now().date() - timedelta(days=1)  # the trait: applied yesterday
    expected = _business_days_after(filed, 5, {date(2026, 11, 23)})  # 勤労感謝の日
    assert exc.problem["available_on"] == expected.isoformat()
    available = date.fromisoformat(exc.problem["available_on"])
    backend.clock.set(datetime.combine(available, datetime.min.time(), JST) + timedelta(hours=10))
    sid = login(kiosk, card, "jpki")
    _, pdf = kiosk.issue(sid, "koseki", variant="individual")
    assert set(resident_ids_in(pdf)) == {rid}


# -- users the server does not know ----------------------------------------------------------


@pytest.mark.requirement("SEC-010")
def test_a_jpki_user_not_registered_with_the_municipality(backend: World, kiosk: KioskSide) -> None:
    credentials = backend.issue_card("mynumber-valid").credentials  # nobody registered it
    assert credentials is not None
    backend.centre.register_jpki_holder(credentials.auth_serial, CITY)  # J-LIS's link only
    sid = kiosk.open().session_id
    nonce = kiosk.client.new_nonce(sid)
    signature = credentials.auth_key.sign(nonce, padding.PKCS1v15(), hashes.SHA256())
    exc = refusal(
        lambda: kiosk.client.authenticate_jpki(sid, credentials.auth_cert, signature, nonce)
    )
    assert_municipal(exc, 401, "user_not_registered")
    # the session goes no further: no menu, no request, nothing charged
    assert refusal(lambda: kiosk.client.menu(sid)).code == "not_authenticated"
    assert refusal(lambda: kiosk.client.request_certificate(sid, "resident_record")).status == 409
    assert not kiosk.client.session(sid).requests


@pytest.mark.requirement("SEC-010", "CARDAP-FLOW-006")
@pytest.mark.parametrize("whose", ["nobody", "another_municipality"])
def test_a_card_ap_not_registered_with_its_municipality(
    backend: World, kiosk: KioskSide, whose: str
) -> None:
    if whose == "nobody":
        user_id = "KIOSK99999999999"
    else:
        card = backend.issue_card("juki-card-ap", backend.resident(SMALL_TOWN), code=SMALL_TOWN)
        assert card.card_ap_info is not None
        user_id = card.card_ap_info.user_id  # registered with やまなみ町, not みなと市
    sid = kiosk.open().session_id
    exc = refusal(lambda: kiosk.client.card_ap_challenge(sid, CITY, user_id))
    assert_municipal(exc, 401, "card_ap_user_unknown")
    # refused before certificate selection: there is no menu for this session
    assert refusal(lambda: kiosk.client.menu(sid)).code == "not_authenticated"


# -- card AP: the card's answer and the PIN --------------------------------------------------


@pytest.mark.requirement("SEC-009")
@pytest.mark.parametrize("answer", ["tampered", "replayed"])
def test_card_ap_accepts_only_a_fresh_answer_from_that_card(
    backend: World, kiosk: KioskSide, answer: str
) -> None:
    card = backend.issue_card("juki-card-ap", backend.resident(CITY))
    info = card.card_ap_info
    assert info is not None
    old_sid = kiosk.open().session_id
    old = kiosk.client.card_ap_challenge(old_sid, CITY, info.user_id)
    old_answer = card_answer(card, old.challenge)
    kiosk.client.authenticate_card_ap(old_sid, old.challenge, old_answer)
    sid = kiosk.open().session_id
    fresh = kiosk.client.card_ap_challenge(sid, CITY, info.user_id)
    if answer == "tampered":
        good = card_answer(card, fresh.challenge)
        sent = bytes([good[0] ^ 0x01]) + good[1:]
    else:
        sent = old_answer  # a recorded answer to an earlier challenge
    exc = refusal(lambda: kiosk.client.authenticate_card_ap(sid, fresh.challenge, sent))
    assert_municipal(exc, 401, "card_response_invalid")


@pytest.mark.requirement("SEC-009")
def test_card_ap_challenge_is_single_use_at_the_server(backend: World) -> None:
    """Straight to the issuance server: the same challenge and answer a second time."""
    card = backend.issue_card("juki-card-ap", backend.resident(CITY))
    info = card.card_ap_info
    assert info is not None
    with https_client(
        backend.municipal_urls[CITY], client=backend.lgwan_client_cert(),
        server_ca=backend.lgwan_ca(),
    ) as lgwan:  # fmt: skip
        challenge = lgwan.post("/auth/card-ap/challenge", json={"user_id": info.user_id})
        assert challenge.status_code == 201, challenge.text
        value = challenge.json()["challenge"]
        body = {
            "user_id": info.user_id,
            "challenge": value,
            "response": card_answer(card, bytes.fromhex(value)).hex(),
        }
        first = lgwan.post("/auth/card-ap", json=body)
        second = lgwan.post("/auth/card-ap", json=body)
    assert first.status_code == 201, first.text
    assert (second.status_code, second.json()["code"]) == (401, "challenge_unknown")


@pytest.mark.requirement("CARDAP-FLOW-004")
def test_no_certificate_data_before_the_pin(backend: World, kiosk: KioskSide) -> None:
    rid = backend.resident(CITY, "household_of_3")
    card = backend.issue_card("juki-card-ap", rid)
    sid = card_ap_until_pin(kiosk, card)
    assert refusal(lambda: kiosk.client.menu(sid)).status == 409
    assert refusal(lambda: kiosk.client.request_certificate(sid, "resident_record")).status == 409
    kiosk.client.verify_pin(sid, card.pins["card_ap_pin"])
    _, pdf = kiosk.issue(sid, "resident_record")
    assert set(resident_ids_in(pdf)) == {rid}


def _direct_card_ap_session(world: World, lgwan: Any, card: BuiltCard) -> str:
    info = card.card_ap_info
    assert info is not None
    value = lgwan.post("/auth/card-ap/challenge", json={"user_id": info.user_id}).json()
    answer = card_answer(card, bytes.fromhex(value["challenge"])).hex()
    opened = lgwan.post(
        "/auth/card-ap",
        json={"user_id": info.user_id, "challenge": value["challenge"], "response": answer},
    )
    assert opened.status_code == 201, opened.text
    assert opened.json()["pin_required"] is True
    sid: str = opened.json()["session_id"]
    return sid


@pytest.mark.requirement("CARDAP-FLOW-004")
def test_issuance_server_holds_certificates_until_the_pin(backend: World) -> None:
    """Straight to the issuance server: no certificate before the PIN, whatever the centre does."""
    rid = backend.resident(CITY, "household_of_3")
    card = backend.issue_card("juki-card-ap", rid)
    with https_client(
        backend.municipal_urls[CITY], client=backend.lgwan_client_cert(),
        server_ca=backend.lgwan_ca(),
    ) as lgwan:  # fmt: skip
        sid = _direct_card_ap_session(backend, lgwan, card)
        early = lgwan.post(f"/sessions/{sid}/certificates", json={"type": "resident_record"})
        pin = lgwan.post(f"/sessions/{sid}/pin", json={"pin": card.pins["card_ap_pin"]})
        late = lgwan.post(f"/sessions/{sid}/certificates", json={"type": "resident_record"})
    assert (early.status_code, early.json()["code"]) == (401, "pin_required")
    assert "pdf_base64" not in early.json()
    assert pin.status_code == 200, pin.text
    assert late.status_code == 201 and late.json()["resident_id"] == rid


@pytest.mark.requirement("CARDAP-FLOW-004")
def test_issuance_server_menu_before_the_pin_names_nobody(backend: World) -> None:
    rid = backend.resident(CITY, "household_of_3")
    card = backend.issue_card("juki-card-ap", rid)
    with https_client(
        backend.municipal_urls[CITY], client=backend.lgwan_client_cert(),
        server_ca=backend.lgwan_ca(),
    ) as lgwan:  # fmt: skip
        sid = _direct_card_ap_session(backend, lgwan, card)
        menu = lgwan.get(f"/sessions/{sid}/menu")
    assert menu.status_code == 401 or not menu.json().get("household")


@pytest.mark.requirement("CARDAP-FLOW-005")
def test_a_wrong_pin_is_refused_and_may_be_tried_again(backend: World, kiosk: KioskSide) -> None:
    # a resident of its own: an external server keeps PIN counters across scenarios
    card = backend.issue_card("juki-card-ap", backend.resident(CITY, index=2))
    sid = card_ap_until_pin(kiosk, card)
    exc = refusal(lambda: kiosk.client.verify_pin(sid, "0000"))
    assert_municipal(exc, 401, "pin_incorrect")
    assert exc.problem["tries_left"] == 2
    exc = refusal(lambda: kiosk.client.verify_pin(sid, "1111"))
    assert exc.problem["tries_left"] == 1
    result = kiosk.client.verify_pin(sid, card.pins["card_ap_pin"])
    assert result.state == "authenticated"
    # the right PIN reset the counter: a new session starts again from three tries
    sid = card_ap_until_pin(kiosk, card)
    assert refusal(lambda: kiosk.client.verify_pin(sid, "0000")).problem["tries_left"] == 2


@pytest.mark.requirement("CARDAP-FLOW-005")
def test_a_locked_pin_ends_at_the_counter(backend: World, kiosk: KioskSide) -> None:
    # the card stays locked on a long-lived external server: a resident nobody else uses
    # (docs/municipal-server-testing.md: reset this card before the next run)
    card = backend.issue_card("juki-card-ap", backend.resident(CITY, index=3))
    sid = card_ap_until_pin(kiosk, card)
    codes = [refusal(lambda: kiosk.client.verify_pin(sid, "0000")).code for _ in range(3)]
    assert codes == ["pin_incorrect", "pin_incorrect", "pin_locked"]
    sid = card_ap_until_pin(kiosk, card)
    exc = refusal(lambda: kiosk.client.verify_pin(sid, card.pins["card_ap_pin"]))
    assert_municipal(exc, 423, "pin_locked")
    assert "窓口" in exc.problem["message_ja"]
    assert refusal(lambda: kiosk.client.request_certificate(sid, "resident_record")).status == 409


# -- a municipality that offers one method only (seed I.1 (4), II.3 (8)) ---------------------


@pytest.mark.requirement("CARD-014", "CARD-015")
@pytest.mark.parametrize(
    ("code", "method"), [(JPKI_ONLY_CITY, "card_ap"), (CARD_AP_ONLY_VILLAGE, "jpki")],
    ids=["jpki-only-refuses-card-ap", "card-ap-only-refuses-jpki"],
)  # fmt: skip
def test_the_method_not_offered_is_refused_on_lgwan(backend: World, code: str, method: str) -> None:
    """Straight to the issuance server: the refusal comes before any session or challenge."""
    with https_client(
        backend.municipal_urls[code], client=backend.lgwan_client_cert(),
        server_ca=backend.lgwan_ca(),
    ) as lgwan:  # fmt: skip
        if method == "jpki":
            answer = lgwan.post("/auth/jpki", json={"cert_serial": "4b1d2c3e5f607182"})
        else:
            answer = lgwan.post("/auth/card-ap/challenge", json={"user_id": f"X{code}000000001"})
    assert answer.status_code == 403, answer.text
    body = answer.json()
    assert body["code"] == "auth_method_not_offered" and body.get("message_ja"), body


@pytest.mark.requirement("CARD-014", "CARD-015")
@pytest.mark.parametrize(
    ("code", "method"), [(JPKI_ONLY_CITY, "jpki"), (CARD_AP_ONLY_VILLAGE, "card_ap")],
    ids=["jpki-only-with-jpki", "card-ap-only-with-card-ap"],
)  # fmt: skip
def test_the_method_offered_is_served(
    backend: World, kiosk: KioskSide, code: str, method: str
) -> None:
    rid = backend.resident(code)
    sid = login(kiosk, card_for(backend, rid, method, code), method)
    _, pdf = kiosk.issue(sid, "resident_record")
    assert resident_ids_in(pdf)[0] == rid


# -- a 支援措置 protected person inside a household of several (not only alone) ---------------


@pytest.mark.requirement("CERT-020")
@pytest.mark.parametrize("method", ["jpki", "card_ap"])
def test_a_protected_member_of_a_household_of_several_is_refused(
    backend: World, kiosk: KioskSide, method: str
) -> None:
    rid = backend.resident(CITY, "dv_protected_in_household")
    exc = refusal(lambda: login(kiosk, card_for(backend, rid, method), method))
    assert_municipal(exc, 403, "support_measure")
    assert "窓口" in exc.problem["message_ja"]


@pytest.mark.requirement("CERT-020", "PAY-008")
@pytest.mark.parametrize("cert_type", ["resident_record", "resident_record_entries"])
def test_a_housemate_gets_no_record_naming_the_protected_member(
    backend: World, kiosk: KioskSide, cert_type: CertTypeName
) -> None:
    """The housemate is let in, but no 住民票 of that household is issued, whatever the scope."""
    rid = backend.resident(CITY, "dv_housemate")
    sid = login(kiosk, card_for(backend, rid, "jpki"), "jpki")
    entry = next(c for c in kiosk.client.menu(sid)["certificates"] if c["type"] == cert_type)
    assert not entry["available"] and entry["refusal"]["code"] == "support_measure", entry
    for scope in (None, "self"):
        options = {"scope": scope} if scope else None
        exc = refusal(
            lambda: kiosk.client.request_certificate(sid, cert_type, options=options)  # noqa: B023
        )
        assert_municipal(exc, 403, "support_measure")

"""Card profiles (direct execute()), the 券面事項入力補助AP and the card AP with its verifier."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from cryptography import x509

from emulators.card import ProfileError, build_card, load_profile, profile_names
from emulators.card.faults import damage_certificate
from rig.core.clock import DEFAULT_START
from rig.core.evidence import EvidenceStore
from rig.core.pki.jpki import Holder, JpkiAuthority
from rig.core.pki.revocation import CertStatus
from rig.core.protocols import card_ap
from rig.core.protocols.apdu import (
    AID_CARD_AP,
    AID_INPUT_SUPPORT,
    AID_JPKI,
    EF_AUTH_CERT,
    EF_AUTH_KEY,
    EF_AUTH_PIN,
    EF_IS_ATTRIBUTES,
    EF_IS_MY_NUMBER,
    EF_IS_PIN,
    EF_SIGN_PIN,
    EF_TOKEN,
    SW,
    read_binary,
    select_aid,
    select_ef,
    verify,
    verify_status,
)
from tests.card.conftest import CARD_TEST_SEED
from tests.card.test_jpki_ap import digest_info, read_file, send

ALL_PROFILES = [
    "mynumber-valid",
    "mynumber-one-try-left",
    "mynumber-pin-locked",
    "mynumber-expired-cert",
    "mynumber-revoked-cert",
    "mynumber-face-auth-only",
    "mynumber-no-jpki",
    "juki-card-ap",
    "mynumber-card-ap",
    "card-ap-missing",
    "mynumber-damaged-cert",
    "mute-card",
    "smartphone-android",
    "smartphone-iphone",
]


def test_every_required_profile_exists() -> None:
    assert sorted(profile_names()) == sorted(ALL_PROFILES)
    for name in ALL_PROFILES:
        assert load_profile(name).description


def test_unknown_profile_and_bad_file(tmp_path: Path, jpki_authority: JpkiAuthority) -> None:
    with pytest.raises(ProfileError, match="unknown card profile"):
        load_profile("no-such-card")
    bad = tmp_path / "cards.yaml"
    bad.write_text("holders: {}\nprofiles:\n  x: {description: d, form: tablet, holder: h}\n")
    with pytest.raises(ProfileError):
        build_card("x", jpki_authority, seed="s", path=bad)
    bad.write_text("holders: {}\nprofiles:\n  x: {description: d, form: iphone, holder: h}\n")
    with pytest.raises(ProfileError, match="unknown holder"):
        load_profile("x", path=bad)


@pytest.mark.parametrize("name", ALL_PROFILES)
def test_profile_jpki_behaviour(name: str, jpki_authority: JpkiAuthority) -> None:
    """Each profile shows a kiosk exactly the state its description promises."""
    built = build_card(name, jpki_authority, seed=CARD_TEST_SEED)
    card, creds, now = built.card, built.credentials, DEFAULT_START
    card.powerUp()
    selected = send(card, select_aid(AID_JPKI)).sw
    if name == "mynumber-no-jpki":
        assert selected == SW.FILE_NOT_FOUND and creds is None
        assert card.getATR() != bytes.fromhex("3BE000FF8131FE4514")
        return
    assert selected == SW.OK and creds is not None
    send(card, select_ef(EF_TOKEN))
    token = send(card, read_binary(0, 32)).data.rstrip(b" ").decode()
    expected_token = {
        "juki_card": "JPKIAPICCTOKEN",
        "android": "JPKIAPGPSETOKEN",
        "iphone": "JPKIAPGPSETOKEN",
    }.get(built.profile.form.value, "JPKIAPICCTOKEN2")
    assert token == expected_token
    if name.startswith("juki") or name == "card-ap-missing":
        # a Juki card never had the authentication certificate; its signature one expired
        assert send(card, select_ef(EF_AUTH_CERT)).sw == SW.FILE_NOT_FOUND
        assert creds.sign_cert.not_valid_after_utc < now
        return
    empty_verify = send(card, select_ef(EF_AUTH_PIN)), send(card, verify_status())
    sw = empty_verify[1].sw
    expected_sw = {
        "mynumber-one-try-left": 0x63C1,
        "mynumber-pin-locked": 0x63C0,
        "mynumber-face-auth-only": SW.REFERENCE_DATA_NOT_USABLE,
        "smartphone-iphone": SW.OK,
    }.get(name, 0x63C3)
    assert sw == expected_sw
    der = read_file(card, EF_AUTH_CERT)
    if name == "mynumber-damaged-cert":
        with pytest.raises(ValueError):
            x509.load_der_x509_certificate(der)
        return
    cert = x509.load_der_x509_certificate(der)
    assert cert == creds.auth_cert
    expired = cert.not_valid_after_utc < now
    assert expired == (name == "mynumber-expired-cert")
    revoked = jpki_authority.status(cert.serial_number, at=now) is CertStatus.REVOKED
    assert revoked == (name == "mynumber-revoked-cert")
    if name == "smartphone-iphone":
        # verified on the phone: the key signs with no VERIFY; a PIN sent anyway is refused
        send(card, select_ef(EF_AUTH_KEY))
        assert (
            send(card, bytes.fromhex("802A0080") + bytes([51]) + digest_info(b"x") + b"\x00").sw
            == SW.OK
        )
        send(card, select_ef(EF_AUTH_PIN))
        assert send(card, verify("1234")).sw == SW.CONDITIONS_NOT_SATISFIED
        assert built.pins == {}
    if name == "mynumber-face-auth-only":
        send(card, select_ef(EF_AUTH_PIN))
        assert send(card, verify("1234")).sw == SW.REFERENCE_DATA_NOT_USABLE
        assert send(card, select_ef(EF_SIGN_PIN)).sw == SW.FILE_NOT_FOUND
    if name == "smartphone-android":
        assert built.pins["auth_pin"] == "4321"
        send(card, select_ef(EF_AUTH_PIN))
        assert send(card, verify("4321")).sw == SW.OK
        assert send(card, select_aid(AID_INPUT_SUPPORT)).sw == SW.FILE_NOT_FOUND


def test_mute_profile_is_flagged_for_the_reader(jpki_authority: JpkiAuthority) -> None:
    assert build_card("mute-card", jpki_authority, seed=CARD_TEST_SEED).mute
    assert not build_card("mynumber-valid", jpki_authority, seed=CARD_TEST_SEED).mute


def test_input_support_ap(jpki_authority: JpkiAuthority) -> None:
    built = build_card("mynumber-valid", jpki_authority, seed=CARD_TEST_SEED)
    card = built.card
    assert send(card, select_aid(AID_INPUT_SUPPORT)).sw == SW.OK
    send(card, select_ef(EF_IS_MY_NUMBER))
    assert send(card, read_binary(0, 17)).sw == SW.SECURITY_STATUS_NOT_SATISFIED
    send(card, select_ef(EF_IS_PIN))
    assert send(card, verify_status()).sw == 0x63C3
    assert send(card, verify("0000")).sw == 0x63C2
    assert send(card, verify(built.pins["input_support_pin"])).sw == SW.OK
    send(card, select_ef(EF_IS_MY_NUMBER))
    number = send(card, read_binary(0, 17))
    assert number.data[:3] == b"\xff\x40\x0c" and number.data[3:15] == b"123456789018"
    send(card, select_ef(EF_IS_ATTRIBUTES))
    attrs = send(card, read_binary(0, 255)).data
    assert attrs[:2] == b"\xff\x20"
    assert "見本 花子".encode() in attrs and b"19850714" in attrs


def test_holder_and_my_number_override(jpki_authority: JpkiAuthority) -> None:
    person = Holder("WORLD-77", "世界 七子", "福岡県福岡市", date(2001, 7, 7))
    built = build_card(
        "mynumber-valid",
        jpki_authority,
        seed=CARD_TEST_SEED,
        holder=person,
        my_number="777777777777",
    )
    assert built.credentials is not None and built.credentials.holder == person
    card = built.card
    send(card, select_aid(AID_INPUT_SUPPORT))
    send(card, select_ef(EF_IS_PIN))
    send(card, verify("1234"))
    send(card, select_ef(EF_IS_MY_NUMBER))
    assert b"777777777777" in send(card, read_binary(0, 17)).data


def test_card_ap_challenge_response_verifies_at_the_municipality(
    jpki_authority: JpkiAuthority,
) -> None:
    built = build_card("juki-card-ap", jpki_authority, seed=CARD_TEST_SEED)
    card = built.card
    assert send(card, card_ap.select_aid(AID_CARD_AP)).sw == SW.OK
    send(card, card_ap.select_ef(card_ap.EF_CARD_AP_INFO))
    info = card_ap.CardApInfo.decode(send(card, read_binary(0, 64)).data)
    assert info == built.card_ap_info
    assert (info.municipality_code, info.card_kind) == ("131016", "JUKI")
    challenge = os.urandom(16)
    r = send(card, card_ap.internal_authenticate(challenge))
    assert r.sw == SW.OK and len(r.data) == 16
    master = card_ap.world_master_key(CARD_TEST_SEED, info.municipality_code)
    assert card_ap.verify_card_response(master, info, challenge, r.data)
    # a replayed answer to another challenge, another municipality's key, a forged id: refused
    assert not card_ap.verify_card_response(master, info, os.urandom(16), r.data)
    other = card_ap.world_master_key(CARD_TEST_SEED, "271004")
    assert not card_ap.verify_card_response(other, info, challenge, r.data)
    forged = card_ap.CardApInfo(info.municipality_code, "FORGED0000000000", 1, "JUKI")
    assert not card_ap.verify_card_response(master, forged, challenge, r.data)
    assert not card_ap.verify_card_response(master, info, challenge, r.data[:15])
    # bad commands
    assert send(card, "0088000108" + "00" * 8 + "00").sw == SW.WRONG_LENGTH
    assert send(card, "0088000210" + "00" * 16 + "00").sw == SW.INCORRECT_P1P2
    assert send(card, "8088000110" + "00" * 16 + "00").sw == SW.CLA_NOT_SUPPORTED
    assert send(card, "0088000110" + "00" * 16 + "08").sw == 0x6C10
    assert send(card, "0020008004" + "31323334").sw == SW.COMMAND_INCOMPATIBLE  # no PIN here


@pytest.mark.parametrize(
    ("name", "has_card_ap"),
    [("mynumber-card-ap", True), ("card-ap-missing", False), ("mynumber-valid", False)],
)
def test_card_ap_presence(name: str, has_card_ap: bool, jpki_authority: JpkiAuthority) -> None:
    card = build_card(name, jpki_authority, seed=CARD_TEST_SEED).card
    sw = send(card, card_ap.select_aid(AID_CARD_AP)).sw
    assert sw == (SW.OK if has_card_ap else SW.FILE_NOT_FOUND)


def test_card_ap_codec_errors() -> None:
    with pytest.raises(card_ap.CardApError):
        card_ap.CardApInfo("13101", "A" * 16)
    with pytest.raises(card_ap.CardApError):
        card_ap.CardApInfo("131016", "a" * 16)
    for raw in (b"", b"\x71\x00", b"\x70\x05\x80\x01\x01", b"\x70\x04\x80\x05\x01\x02"):
        with pytest.raises(card_ap.CardApError):
            card_ap.CardApInfo.decode(raw)
    info = card_ap.CardApInfo("131016", "ABCDEFGHJK012345")
    assert card_ap.CardApInfo.decode(info.encode()) == info
    with pytest.raises(card_ap.CardApError):
        card_ap.derive_card_key(b"short", info)
    with pytest.raises(card_ap.CardApError):
        card_ap.internal_authenticate(b"\x00" * 8)


def test_card_ap_pin_hash_at_the_municipality() -> None:
    salt = b"\x01" * 16
    stored = card_ap.hash_pin("2468", salt)
    assert card_ap.check_pin("2468", salt, stored)
    assert not card_ap.check_pin("2469", salt, stored)
    assert not card_ap.check_pin("24a8", salt, stored)
    with pytest.raises(card_ap.CardApError):
        card_ap.hash_pin("2468", b"short")


def test_damage_keeps_the_length_header() -> None:
    der = bytes.fromhex("308203e9") + bytes(range(256)) * 4
    damaged = damage_certificate(der[: 4 + 0x3E9])
    assert damaged[:4] == der[:4] and len(damaged) == 4 + 0x3E9
    assert damaged[4:68] == bytes(64)


def test_trace_masks_pins_and_omits_bodies(
    jpki_authority: JpkiAuthority, evidence: EvidenceStore
) -> None:
    built = build_card("mynumber-valid", jpki_authority, seed=CARD_TEST_SEED, evidence=evidence)
    card = built.card
    card.powerUp()
    send(card, select_aid(AID_JPKI))
    send(card, select_ef(EF_AUTH_PIN))
    send(card, verify("1234"))
    send(card, select_aid(AID_INPUT_SUPPORT))
    send(card, select_ef(EF_IS_PIN))
    send(card, verify("1234"))
    send(card, select_ef(EF_IS_MY_NUMBER))
    send(card, read_binary(0, 17))
    records = list(evidence.records("card"))
    apdus = [r for r in records if r["event"] == "apdu"]
    assert records[0]["event"] == "power_up"
    assert len(apdus) == 8
    text = (evidence.folder / "card.jsonl").read_text()
    assert "31323334" not in text and "123456789018" not in text
    assert "313233343536373839303138" not in text
    verify_records = [r for r in apdus if r["command"].startswith("0020008004")]
    assert len(verify_records) == 2 and all("********" in r["command"] for r in verify_records)
    assert apdus[-1]["response_length"] == 17 and apdus[-1]["sw"] == "9000"

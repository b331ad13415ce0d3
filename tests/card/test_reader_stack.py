"""Every profile through the real reader stack (pyscard → pcscd → vpcd → virtual card), and
OpenSC's jpki driver (pkcs15-tool, pkcs11-tool) against the emulated card."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from emulators.card import build_card
from rig.core.evidence import EvidenceStore
from rig.core.pcsc import VirtualCardSlot
from rig.core.pki.jpki import JpkiAuthority
from rig.core.protocols import card_ap
from rig.core.protocols.apdu import (
    AID_CARD_AP,
    AID_JPKI,
    EF_AUTH_KEY,
    EF_AUTH_PIN,
    EF_TOKEN,
    SW,
    read_binary,
    select_aid,
    select_ef,
    verify,
    verify_status,
)
from tests.card.conftest import CARD_TEST_SEED
from tests.card.host import HostConnection, PcscError
from tests.card.test_jpki_ap import digest_info
from tests.card.test_profiles import ALL_PROFILES

PKCS11_MODULE = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
SCARD_W_UNRESPONSIVE_CARD = 0x80100066
SCARD_W_UNPOWERED_CARD = 0x80100067
SCARD_E_NO_SMARTCARD = 0x8010000C

#: What a kiosk sees: (SELECT JPKI AP, token, empty VERIFY on 0018, SELECT card AP).
EXPECTED: dict[str, tuple[int, str | None, int | None, int]] = {
    "mynumber-valid": (0x9000, "JPKIAPICCTOKEN2", 0x63C3, 0x6A82),
    "mynumber-one-try-left": (0x9000, "JPKIAPICCTOKEN2", 0x63C1, 0x6A82),
    "mynumber-pin-locked": (0x9000, "JPKIAPICCTOKEN2", 0x63C0, 0x6A82),
    "mynumber-expired-cert": (0x9000, "JPKIAPICCTOKEN2", 0x63C3, 0x6A82),
    "mynumber-revoked-cert": (0x9000, "JPKIAPICCTOKEN2", 0x63C3, 0x6A82),
    "mynumber-face-auth-only": (0x9000, "JPKIAPICCTOKEN2", 0x6984, 0x6A82),
    "mynumber-no-jpki": (0x6A82, None, None, 0x6A82),
    "juki-card-ap": (0x9000, "JPKIAPICCTOKEN", 0x6A82, 0x9000),
    "mynumber-card-ap": (0x9000, "JPKIAPICCTOKEN2", 0x63C3, 0x9000),
    "card-ap-missing": (0x9000, "JPKIAPICCTOKEN", 0x6A82, 0x6A82),
    "mynumber-damaged-cert": (0x9000, "JPKIAPICCTOKEN2", 0x63C3, 0x6A82),
    "smartphone-android": (0x9000, "JPKIAPGPSETOKEN", 0x63C3, 0x6A82),
    "smartphone-iphone": (0x9000, "JPKIAPGPSETOKEN", 0x9000, 0x6A82),
}


def test_expectations_cover_every_profile() -> None:
    assert set(EXPECTED) | {"mute-card"} == set(ALL_PROFILES)


@pytest.mark.parametrize("name", ALL_PROFILES)
def test_profile_through_pcscd(
    name: str, card_slot: VirtualCardSlot, jpki_authority: JpkiAuthority
) -> None:
    built = build_card(name, jpki_authority, seed=CARD_TEST_SEED)
    card_slot.insert(built.card, mute=built.mute)
    if name == "mute-card":
        host = HostConnection(card_slot.reader_name)
        with pytest.raises(PcscError) as info:
            host.connect()
        host.close()
        assert info.value.code in (
            SCARD_W_UNRESPONSIVE_CARD,
            SCARD_W_UNPOWERED_CARD,
            SCARD_E_NO_SMARTCARD,
        )
        assert built.card.commands == 0
        return
    selected, token, pin_state, card_ap_sw = EXPECTED[name]
    with HostConnection(card_slot.reader_name) as host:
        assert host.transmit(select_aid(AID_JPKI)).sw == selected
        if token is not None:
            assert host.transmit(select_ef(EF_TOKEN)).sw == SW.OK
            assert host.transmit(read_binary(0, 32)).data.rstrip(b" ").decode() == token
        if pin_state is not None:
            r = host.transmit(select_ef(EF_AUTH_PIN))
            if r.sw == SW.OK:
                r = host.transmit(verify_status())
            assert r.sw == pin_state
        assert host.transmit(card_ap.select_aid(AID_CARD_AP)).sw == card_ap_sw
    assert built.card.commands >= 2


def test_wrong_pin_three_times_locks_across_reset_and_reinsertion(
    card_slot: VirtualCardSlot, jpki_authority: JpkiAuthority
) -> None:
    built = build_card("mynumber-valid", jpki_authority, seed=CARD_TEST_SEED)
    card_slot.insert(built.card)
    with HostConnection(card_slot.reader_name) as host:
        host.transmit(select_aid(AID_JPKI))
        host.transmit(select_ef(EF_AUTH_PIN))
        sws = [host.transmit(verify("9999")).sw for _ in range(3)]
        assert sws == [0x63C2, 0x63C1, 0x63C0]
        host.reset()
        host.transmit(select_aid(AID_JPKI))
        host.transmit(select_ef(EF_AUTH_PIN))
        assert host.transmit(verify_status()).sw == 0x63C0
        assert host.transmit(verify("1234")).sw == SW.REFERENCE_DATA_NOT_USABLE
    card_slot.remove()
    card_slot.insert(built.card)  # the same card back in the reader: still locked
    with HostConnection(card_slot.reader_name) as host:
        host.transmit(select_aid(AID_JPKI))
        host.transmit(select_ef(EF_AUTH_PIN))
        assert host.transmit(verify("1234")).sw == SW.REFERENCE_DATA_NOT_USABLE
        host.transmit(select_ef(EF_AUTH_KEY))
        r = host.transmit(bytes.fromhex("802A008033") + digest_info(b"x") + b"\x00")
        assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED


def test_sign_through_pcscd_and_trace_masks_the_pin(
    card_slot: VirtualCardSlot, jpki_authority: JpkiAuthority, evidence: EvidenceStore
) -> None:
    built = build_card("mynumber-valid", jpki_authority, seed=CARD_TEST_SEED, evidence=evidence)
    card_slot.insert(built.card)
    with HostConnection(card_slot.reader_name) as host:
        host.transmit(select_aid(AID_JPKI))
        host.transmit(select_ef(EF_AUTH_PIN))
        assert host.transmit(verify("1234")).sw == SW.OK
        host.transmit(select_ef(EF_AUTH_KEY))
        r = host.transmit(bytes.fromhex("802A008033") + digest_info(b"kiosk") + b"\x00")
    assert r.sw == SW.OK
    assert built.credentials is not None
    pub = built.credentials.auth_cert.public_key()
    assert isinstance(pub, rsa.RSAPublicKey)
    pub.verify(r.data, b"kiosk", padding.PKCS1v15(), hashes.SHA256())
    text = "".join(p.read_text() for p in evidence.folder.glob("*.jsonl"))
    assert "31323334" not in text
    events = [rec["event"] for rec in evidence.records("card")]
    assert "power_up" in events and events.count("apdu") == 5


def test_opensc_lists_the_certificates(
    card_slot: VirtualCardSlot, jpki_authority: JpkiAuthority
) -> None:
    built = build_card("mynumber-valid", jpki_authority, seed=CARD_TEST_SEED)
    card_slot.insert(built.card)
    result = subprocess.run(
        ["pkcs15-tool", "--reader", card_slot.reader_name, "--list-certificates"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "User Authentication Certificate" in result.stdout
    assert "Digital Signature Certificate CA" in result.stdout
    assert built.credentials is not None
    assert f"{built.credentials.auth_serial:X}" in result.stdout.replace(" ", "")


def test_opensc_signs_with_the_emulated_card(
    tmp_path: Path,
    card_slot: VirtualCardSlot,
    jpki_authority: JpkiAuthority,
) -> None:
    built = build_card("mynumber-valid", jpki_authority, seed=CARD_TEST_SEED)
    card_slot.insert(built.card)
    data, sig = tmp_path / "data.bin", tmp_path / "sig.bin"
    data.write_bytes(b"konbini issuance request")
    result = subprocess.run(
        [
            "pkcs11-tool",
            "--module",
            PKCS11_MODULE,
            "--slot-description",
            card_slot.reader_name,
            "--login",
            "--pin",
            built.pins["auth_pin"],
            "--sign",
            "--mechanism",
            "SHA256-RSA-PKCS",
            "--id",
            "01",
            "-i",
            str(data),
            "-o",
            str(sig),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert built.credentials is not None
    pub = built.credentials.auth_cert.public_key()
    assert isinstance(pub, rsa.RSAPublicKey)
    pub.verify(sig.read_bytes(), data.read_bytes(), padding.PKCS1v15(), hashes.SHA256())


def test_opensc_refuses_the_face_auth_only_card(
    card_slot: VirtualCardSlot, jpki_authority: JpkiAuthority
) -> None:
    built = build_card("mynumber-face-auth-only", jpki_authority, seed=CARD_TEST_SEED)
    card_slot.insert(built.card)
    result = subprocess.run(
        ["pkcs15-tool", "--reader", card_slot.reader_name, "--list-certificates"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "User Authentication Certificate" not in result.stdout

"""The JPKI AP, driven by direct execute() calls: files, PINs, signatures, bad APDUs."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from emulators.card import BuiltCard, VirtualCard, build_card
from rig.core.pki.jpki import JpkiAuthority
from rig.core.protocols.apdu import (
    AID_INPUT_SUPPORT,
    AID_JPKI,
    EF_AUTH_CA_CERT,
    EF_AUTH_CERT,
    EF_AUTH_KEY,
    EF_AUTH_PIN,
    EF_SIGN_CERT,
    EF_SIGN_KEY,
    EF_SIGN_PIN,
    EF_TOKEN,
    SW,
    CommandAPDU,
    ResponseAPDU,
    compute_signature,
    read_binary,
    select_aid,
    select_ef,
    verify,
    verify_status,
)
from tests.card.conftest import CARD_TEST_SEED

SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def digest_info(message: bytes) -> bytes:
    return SHA256_PREFIX + hashlib.sha256(message).digest()


def send(card: VirtualCard, apdu: bytes | str) -> ResponseAPDU:
    raw = bytes.fromhex(apdu) if isinstance(apdu, str) else apdu
    return ResponseAPDU.parse(card.execute(raw))


def read_file(card: VirtualCard, fid: int, chunk: int = 0xFF) -> bytes:
    """Read an EF the way middleware does: 4-byte DER header, then chunks."""
    assert send(card, select_ef(fid)).sw == SW.OK
    head = send(card, read_binary(0, 4))
    assert head.sw == SW.OK
    total = ((head.data[2] << 8) | head.data[3]) + 4
    out = bytearray(head.data)
    while len(out) < total:
        r = send(card, read_binary(len(out), min(chunk, total - len(out))))
        assert r.sw == SW.OK, hex(r.sw)
        out += r.data
    return bytes(out)


@pytest.fixture
def built(jpki_authority: JpkiAuthority) -> BuiltCard:
    card = build_card("mynumber-valid", jpki_authority, seed=CARD_TEST_SEED)
    card.card.powerUp()
    return card


def _der(c: object) -> bytes:
    return c.public_bytes(serialization.Encoding.DER)  # type: ignore[attr-defined, no-any-return]


def test_certificates_read_in_chunks_match_the_issued_ones(built: BuiltCard) -> None:
    card, creds = built.card, built.credentials
    assert creds is not None
    assert send(card, select_aid(AID_JPKI)).sw == SW.OK
    assert read_file(card, EF_AUTH_CERT) == _der(creds.auth_cert)
    assert read_file(card, EF_AUTH_CA_CERT, chunk=0x80) == _der(creds.auth_ca_cert)
    token = send(card, select_ef(EF_TOKEN)), send(card, read_binary(0, 32))
    assert token[1].data.rstrip(b" ") == b"JPKIAPICCTOKEN2"


def test_read_binary_edges(built: BuiltCard) -> None:
    card = built.card
    send(card, select_aid(AID_JPKI))
    send(card, select_ef(EF_AUTH_CERT))
    size = len(read_file(card, EF_AUTH_CERT))
    tail = send(card, read_binary(size - 10, 100))
    assert tail.sw == SW.END_OF_FILE and len(tail.data) == 10
    assert send(card, read_binary(size, 1)).sw == SW.WRONG_P1P2
    assert send(card, read_binary(0x7FFF, 1)).sw == SW.WRONG_P1P2
    assert send(card, "00B08100" + "04").sw == SW.FUNCTION_NOT_SUPPORTED  # SFI form
    assert send(card, "00B00000").sw == SW.WRONG_LENGTH  # no Le
    send(card, select_ef(EF_AUTH_PIN))
    assert send(card, read_binary(0, 4)).sw == SW.COMMAND_INCOMPATIBLE
    send(card, select_aid(AID_JPKI))
    assert send(card, read_binary(0, 4)).sw == SW.COMMAND_NOT_ALLOWED_NO_EF


def test_empty_verify_reports_tries_without_spending_one(built: BuiltCard) -> None:
    card = built.card
    send(card, select_aid(AID_JPKI))
    send(card, select_ef(EF_AUTH_PIN))
    assert [send(card, verify_status()).sw for _ in range(5)] == [0x63C3] * 5
    send(card, select_ef(EF_SIGN_PIN))
    assert send(card, verify_status()).sw == 0x63C5


def test_three_wrong_pins_lock_and_the_lock_survives_reset(built: BuiltCard) -> None:
    card = built.card
    send(card, select_aid(AID_JPKI))
    send(card, select_ef(EF_AUTH_PIN))
    assert [send(card, verify("0000")).sw for _ in range(3)] == [0x63C2, 0x63C1, 0x63C0]
    assert send(card, verify("1234")).sw == SW.REFERENCE_DATA_NOT_USABLE
    assert send(card, verify_status()).sw == 0x63C0
    card.reset()
    card.powerDown()
    card.powerUp()
    send(card, select_aid(AID_JPKI))
    send(card, select_ef(EF_AUTH_PIN))
    assert send(card, verify("1234")).sw == SW.REFERENCE_DATA_NOT_USABLE
    send(card, select_ef(EF_AUTH_KEY))
    assert send(card, compute_signature(digest_info(b"x"))).sw == SW.SECURITY_STATUS_NOT_SATISFIED


def test_right_pin_restores_the_counter(built: BuiltCard) -> None:
    card = built.card
    send(card, select_aid(AID_JPKI))
    send(card, select_ef(EF_AUTH_PIN))
    assert send(card, verify("9999")).sw == 0x63C2
    assert send(card, verify("1234")).sw == SW.OK
    assert send(card, verify_status()).sw == 0x63C3
    # a wrong-length PIN is just a wrong PIN: the card compares reference data
    assert send(card, verify("12345")).sw == 0x63C2


def test_sign_needs_verify_and_produces_pkcs1_v15(built: BuiltCard) -> None:
    card, creds = built.card, built.credentials
    assert creds is not None
    send(card, select_aid(AID_JPKI))
    send(card, select_ef(EF_AUTH_KEY))
    assert send(card, compute_signature(digest_info(b"m"))).sw == SW.SECURITY_STATUS_NOT_SATISFIED
    send(card, select_ef(EF_AUTH_PIN))
    assert send(card, verify("1234")).sw == SW.OK
    send(card, select_ef(EF_AUTH_KEY))
    r = send(card, compute_signature(digest_info(b"message")))
    assert r.sw == SW.OK and len(r.data) == 256
    pub = creds.auth_cert.public_key()
    assert isinstance(pub, rsa.RSAPublicKey)
    pub.verify(r.data, b"message", padding.PKCS1v15(), hashes.SHA256())
    # the sign key needs the signature password, not the auth PIN
    send(card, select_ef(EF_SIGN_KEY))
    assert send(card, compute_signature(digest_info(b"m"))).sw == SW.SECURITY_STATUS_NOT_SATISFIED


def test_verified_state_is_cleared_by_reselect_and_reset(built: BuiltCard) -> None:
    card = built.card
    for clear in ("reselect", "reset", "other_ap"):
        send(card, select_aid(AID_JPKI))
        send(card, select_ef(EF_AUTH_PIN))
        assert send(card, verify("1234")).sw == SW.OK
        if clear == "reselect":
            send(card, select_aid(AID_JPKI))
        elif clear == "reset":
            card.reset()
            send(card, select_aid(AID_JPKI))
        else:
            send(card, select_aid(AID_INPUT_SUPPORT))
            send(card, select_aid(AID_JPKI))
        send(card, select_ef(EF_AUTH_KEY))
        assert send(card, compute_signature(digest_info(b"m"))).sw == 0x6982, clear


def test_signature_password_guards_the_sign_certificate(built: BuiltCard) -> None:
    card, creds = built.card, built.credentials
    assert creds is not None
    send(card, select_aid(AID_JPKI))
    send(card, select_ef(EF_SIGN_CERT))
    assert send(card, read_binary(0, 4)).sw == SW.SECURITY_STATUS_NOT_SATISFIED
    send(card, select_ef(EF_SIGN_PIN))
    assert [send(card, verify("WRONG1")).sw for _ in range(2)] == [0x63C4, 0x63C3]
    assert send(card, verify(built.pins["sign_password"])).sw == SW.OK
    assert read_file(card, EF_SIGN_CERT) == _der(creds.sign_cert)
    send(card, select_ef(EF_SIGN_KEY))
    r = send(card, compute_signature(digest_info(b"doc")))
    pub = creds.sign_cert.public_key()
    assert isinstance(pub, rsa.RSAPublicKey)
    pub.verify(r.data, b"doc", padding.PKCS1v15(), hashes.SHA256())


def test_signature_password_locks_after_five(built: BuiltCard) -> None:
    card = built.card
    send(card, select_aid(AID_JPKI))
    send(card, select_ef(EF_SIGN_PIN))
    sws = [send(card, verify("BADPASS")).sw for _ in range(6)]
    assert sws == [0x63C4, 0x63C3, 0x63C2, 0x63C1, 0x63C0, 0x6984]


@pytest.mark.parametrize(
    ("apdu", "sw"),
    [
        ("", SW.WRONG_LENGTH),  # nothing at all
        ("00A4", SW.WRONG_LENGTH),  # truncated header
        ("04A4040C0AD392F000260100000001", SW.SECURE_MESSAGING_NOT_SUPPORTED),
        ("01A4040C0AD392F000260100000001", SW.LOGICAL_CHANNEL_NOT_SUPPORTED),
        ("10A4040C0AD392F000260100000001", 0x6884),  # chaining
        ("A0A4040C0AD392F000260100000001", SW.CLA_NOT_SUPPORTED),
        ("FFCA000000", SW.CLA_NOT_SUPPORTED),  # PC/SC pseudo-APDU reaching the card
        ("80A4040C0AD392F000260100000001", SW.CLA_NOT_SUPPORTED),
        ("00CA000000", SW.INS_NOT_SUPPORTED),
        ("0060000000", SW.INS_NOT_SUPPORTED),  # procedure-byte INS
        ("00B1000000", SW.INS_NOT_SUPPORTED),  # odd INS
        ("00A4040C0BD392F000260100000001", SW.WRONG_LENGTH),  # Lc one too big
        ("00A4040C0AD392F0002601000000", SW.WRONG_LENGTH),  # data truncated
        ("00A4040C000AD392F000260100000001", SW.WRONG_LENGTH),  # wrong-form extended
        ("00A4040C00000AD392F000260100000001", SW.WRONG_LENGTH),  # extended length
        ("00A4040105D392F00026", SW.INCORRECT_P1P2),
        ("00A4040C05D392F00099", SW.FILE_NOT_FOUND),
        ("00A4000C023F01", SW.FILE_NOT_FOUND),
        ("00B0000004", SW.COMMAND_NOT_ALLOWED_NO_EF),  # nothing selected
        ("0020008004" + "31323334", SW.COMMAND_NOT_ALLOWED_NO_EF),
    ],
)
def test_bad_apdus_with_nothing_selected(built: BuiltCard, apdu: str, sw: int) -> None:
    assert send(built.card, apdu).sw == sw


@pytest.mark.parametrize(
    ("setup", "apdu", "sw"),
    [
        ([], "00A4020C03001800", SW.LC_INCONSISTENT_WITH_P1P2),
        ([], "00A4020C0100", SW.LC_INCONSISTENT_WITH_P1P2),
        ([], "00A40200020018", SW.INCORRECT_P1P2),
        ([], "00A4020C02009900", SW.WRONG_LENGTH),  # case 4 SELECT EF
        ([], "00A4020C020099", SW.FILE_NOT_FOUND),
        ([], "00A4030C020018", SW.INCORRECT_P1P2),  # P1=03: not a SELECT this card offers
        (["00A4020C020018"], "0020018004" + "31323334", SW.INCORRECT_P1P2),
        (["00A4020C020018"], "0020008104" + "31323334", SW.INCORRECT_P1P2),
        (["00A4020C020018"], "002000800431323334" + "00", SW.WRONG_LENGTH),
        (["00A4020C02000A"], "0020008004" + "31323334", SW.COMMAND_INCOMPATIBLE),
        (["00A4020C020017"], "802A0080" + "0130" + "00", SW.SECURITY_STATUS_NOT_SATISFIED),
        (["00A4020C020017"], "002A0080" + "0130" + "00", SW.CLA_NOT_SUPPORTED),
        (["00A4020C020017"], "802A9E9A" + "0130" + "00", SW.INCORRECT_P1P2),
        (["00A4020C02000A"], "802A0080" + "0130" + "00", SW.COMMAND_INCOMPATIBLE),
        ([], "802A0080" + "0130" + "00", SW.COMMAND_NOT_ALLOWED_NO_EF),
        (
            ["00A4020C020018", "002000800431323334", "00A4020C020017"],
            "802A0080",  # no DigestInfo
            SW.WRONG_LENGTH,
        ),
        (
            ["00A4020C020018", "002000800431323334", "00A4020C020017"],
            "802A0080F6" + "30" * 246 + "00",  # longer than k - 11
            SW.WRONG_LENGTH,
        ),
        (
            ["00A4020C020018", "002000800431323334", "00A4020C020017"],
            "802A00800130" + "80",  # Le other than 256
            0x6C00,
        ),
        ([], "0088000010" + "00" * 16, SW.INS_NOT_SUPPORTED),
        ([], "80B0000004", SW.CLA_NOT_SUPPORTED),
    ],
)
def test_bad_apdus_inside_the_jpki_ap(
    built: BuiltCard, setup: list[str], apdu: str, sw: int
) -> None:
    card = built.card
    assert send(card, select_aid(AID_JPKI)).sw == SW.OK
    for step in setup:
        assert send(card, step).sw == SW.OK, step
    assert send(card, apdu).sw == sw


def test_select_with_fci_and_mf(built: BuiltCard) -> None:
    card = built.card
    r = send(card, CommandAPDU(0, 0xA4, 0x04, 0x00, AID_JPKI, le=256).to_bytes())
    assert r.sw == SW.OK and r.data == b"\x6f\x0c\x84\x0a" + AID_JPKI
    send(card, select_ef(EF_AUTH_PIN))
    assert send(card, verify("1234")).sw == SW.OK
    assert send(card, "00A4000C023F00").sw == SW.OK  # back to the MF: state cleared
    send(card, select_aid(AID_JPKI))
    send(card, select_ef(EF_AUTH_KEY))
    assert send(card, compute_signature(digest_info(b"m"))).sw == 0x6982


def test_never_raises_even_when_the_model_breaks(built: BuiltCard) -> None:
    card = built.card
    app = card.application("jpki")

    def broken(cmd: CommandAPDU) -> bytes:
        raise RuntimeError("model bug")

    app.handle = broken  # type: ignore[method-assign]
    send(card, select_aid(AID_JPKI))
    assert send(card, read_binary(0, 4)).sw == SW.NO_PRECISE_DIAGNOSIS
    assert card.internal_errors == 1

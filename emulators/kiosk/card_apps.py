"""What the kiosk does with a card: the usability check, the PIN, the signature, the card AP.

Everything here speaks APDUs through a `CardConnection` (PC/SC); the status words and
commands come from `rig.core.protocols.apdu` and `rig.core.protocols.card_ap`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cryptography import x509

from emulators.kiosk.card_reader import CardConnection, CardIOError
from emulators.kiosk.screens import NoticeCode
from rig.core.protocols import apdu
from rig.core.protocols.apdu import SW
from rig.core.protocols.card_ap import AID_CARD_AP, EF_CARD_AP_INFO, CardApError, CardApInfo
from rig.core.protocols.card_ap import internal_authenticate as card_ap_internal_authenticate

#: The largest elementary file the kiosk reads (a certificate is about 1–2 KB).
MAX_EF_BYTES = 8192


class CardKind(StrEnum):
    MY_NUMBER_CARD = "my_number_card"
    JUKI_CARD = "juki_card"
    SMARTPHONE = "smartphone"
    OTHER = "other"


class PinState(StrEnum):
    ENTRY = "entry"  # a PIN must be entered (tries_left says how many tries remain)
    LOCKED = "locked"  # 63 C0: blocked after wrong entries
    NOT_USABLE = "not_usable"  # 69 84 to an empty VERIFY: no PIN set (face-auth-only card)
    DEVICE = "device"  # 90 00 to an empty VERIFY: verified on the phone (iPhone)


class CardRefused(Exception):
    def __init__(self, code: NoticeCode, detail: str = ""):
        super().__init__(f"{code}: {detail}")
        self.code = code


@dataclass
class JpkiFacts:
    certificate: bytes  # the authentication certificate, DER (erased after the transaction)
    not_after: datetime
    pin: PinState
    tries_left: int


@dataclass
class CardFacts:
    kind: CardKind
    jpki: JpkiFacts | None
    card_ap: CardApInfo | None
    #: Why JPKI cannot be used, when the card has the JPKI AP but it is not usable.
    jpki_problem: NoticeCode | None = None


def _ok(resp: apdu.ResponseAPDU, what: str) -> bytes:
    if not resp.ok:
        raise CardIOError(f"{what}: status {resp.sw:04X}")
    return resp.data


def read_ef(conn: CardConnection, fid: int) -> bytes:
    """Read a whole transparent EF: its DER header first, then the rest in chunks."""
    _ok(conn.transmit(apdu.select_ef(fid)), f"SELECT EF {fid:04X}")
    head = conn.transmit(apdu.read_binary(0, 4))
    if head.sw not in (SW.OK, SW.END_OF_FILE) or len(head.data) < 2:
        raise CardIOError(f"READ BINARY EF {fid:04X}: status {head.sw:04X}")
    total = _der_total_length(head.data)
    if total > MAX_EF_BYTES:
        raise CardIOError(f"EF {fid:04X} claims {total} bytes")
    data = bytearray(head.data[: min(len(head.data), total)])
    while len(data) < total:
        chunk = min(256, total - len(data))
        resp = conn.transmit(apdu.read_binary(len(data), chunk))
        if resp.sw not in (SW.OK, SW.END_OF_FILE) or not resp.data:
            raise CardIOError(f"READ BINARY EF {fid:04X} at {len(data)}: {resp.sw:04X}")
        data += resp.data
    return bytes(data[:total])


def _der_total_length(head: bytes) -> int:
    first = head[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 2 or len(head) < 2 + count:
        raise CardIOError("EF does not start with a DER length")
    return 2 + count + int.from_bytes(head[2 : 2 + count], "big")


def _select(conn: CardConnection, aid: bytes) -> bool:
    resp = conn.transmit(apdu.select_aid(aid))
    if resp.ok:
        return True
    if resp.sw in (SW.FILE_NOT_FOUND, SW.FUNCTION_NOT_SUPPORTED, SW.INCORRECT_P1P2):
        return False
    raise CardIOError(f"SELECT AID: status {resp.sw:04X}")


def _token(conn: CardConnection) -> str:
    resp = conn.transmit(apdu.select_ef(apdu.EF_TOKEN))
    if not resp.ok:
        return ""
    data = conn.transmit(apdu.read_binary(0, 32))
    if data.sw not in (SW.OK, SW.END_OF_FILE):
        return ""
    return data.data.rstrip(b" \x00").decode("ascii", "replace")


def _kind(token: str) -> CardKind:
    return {
        apdu.TOKEN_MY_NUMBER_CARD: CardKind.MY_NUMBER_CARD,
        apdu.TOKEN_JUKI_CARD: CardKind.JUKI_CARD,
        apdu.TOKEN_SMARTPHONE: CardKind.SMARTPHONE,
    }.get(token, CardKind.OTHER)


def auth_pin_state(conn: CardConnection) -> tuple[PinState, int]:
    """The authentication PIN's state from an empty VERIFY (no try is spent)."""
    _ok(conn.transmit(apdu.select_ef(apdu.EF_AUTH_PIN)), "SELECT auth PIN")
    resp = conn.transmit(apdu.verify_status())
    if resp.sw == SW.OK:
        return PinState.DEVICE, 0
    if resp.sw & 0xFFF0 == SW.VERIFY_FAILED:
        tries = resp.sw & 0x0F
        return (PinState.ENTRY, tries) if tries else (PinState.LOCKED, 0)
    if resp.sw in (SW.REFERENCE_DATA_NOT_USABLE, SW.AUTH_METHOD_BLOCKED):
        return PinState.NOT_USABLE, 0
    raise CardIOError(f"empty VERIFY: status {resp.sw:04X}")


def probe(conn: CardConnection, now: datetime) -> CardFacts:
    """The usability check (seed I.4.1 (1)): which method can this card use, if any?"""
    kind = CardKind.OTHER
    jpki: JpkiFacts | None = None
    problem: NoticeCode | None = NoticeCode.NO_CERTIFICATE
    if _select(conn, apdu.AID_JPKI):
        kind = _kind(_token(conn))
        if conn.transmit(apdu.select_ef(apdu.EF_AUTH_CERT)).ok:
            jpki, problem = _jpki_facts(conn, now)
    card_ap = read_card_ap(conn)
    return CardFacts(kind, jpki, card_ap, problem)


def _jpki_facts(conn: CardConnection, now: datetime) -> tuple[JpkiFacts | None, NoticeCode | None]:
    try:
        der = read_ef(conn, apdu.EF_AUTH_CERT)
        cert = x509.load_der_x509_certificate(der)
        not_after = cert.not_valid_after_utc
        not_before = cert.not_valid_before_utc
    except (CardIOError, ValueError):
        return None, NoticeCode.CARD_UNREADABLE
    state, tries = auth_pin_state(conn)
    facts = JpkiFacts(der, not_after, state, tries)
    if state is PinState.NOT_USABLE:
        return facts, NoticeCode.FACE_AUTH_CARD
    if not not_before <= now <= not_after:
        return facts, NoticeCode.CERTIFICATE_EXPIRED
    if state is PinState.LOCKED:
        return facts, NoticeCode.CARD_PIN_LOCKED
    return facts, None


def read_card_ap(conn: CardConnection) -> CardApInfo | None:
    if not _select(conn, AID_CARD_AP):
        return None
    try:
        return CardApInfo.decode(read_ef(conn, EF_CARD_AP_INFO))
    except (CardIOError, CardApError):
        return None


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    tries_left: int
    locked: bool


def verify_auth_pin(conn: CardConnection, pin: str) -> VerifyResult:
    """VERIFY the user-authentication PIN (select the AP again: it clears earlier state)."""
    _ok(conn.transmit(apdu.select_aid(apdu.AID_JPKI)), "SELECT JPKI AP")
    _ok(conn.transmit(apdu.select_ef(apdu.EF_AUTH_PIN)), "SELECT auth PIN")
    resp = conn.transmit(apdu.verify(pin))
    if resp.ok:
        return VerifyResult(True, -1, False)
    if resp.sw & 0xFFF0 == SW.VERIFY_FAILED:
        tries = resp.sw & 0x0F
        return VerifyResult(False, tries, tries == 0)
    if resp.sw in (SW.REFERENCE_DATA_NOT_USABLE, SW.AUTH_METHOD_BLOCKED):
        return VerifyResult(False, 0, True)
    if resp.sw == SW.WRONG_LENGTH or resp.sw == SW.WRONG_DATA:
        raise CardIOError(f"VERIFY refused the PIN format: {resp.sw:04X}")
    raise CardIOError(f"VERIFY: status {resp.sw:04X}")


def sign_with_auth_key(conn: CardConnection, digest_info: bytes, *, select_ap: bool) -> bytes:
    """COMPUTE DIGITAL SIGNATURE with the authentication key (after VERIFY, or device-verified)."""
    if select_ap:
        _ok(conn.transmit(apdu.select_aid(apdu.AID_JPKI)), "SELECT JPKI AP")
    _ok(conn.transmit(apdu.select_ef(apdu.EF_AUTH_KEY)), "SELECT auth key")
    return _ok(conn.transmit(apdu.compute_signature(digest_info)), "COMPUTE DIGITAL SIGNATURE")


def card_ap_response(conn: CardConnection, challenge: bytes) -> bytes:
    """Relay the municipality's challenge to the card AP (INTERNAL AUTHENTICATE)."""
    _ok(conn.transmit(apdu.select_aid(AID_CARD_AP)), "SELECT card AP")
    return _ok(conn.transmit(card_ap_internal_authenticate(challenge)), "INTERNAL AUTHENTICATE")

"""ISO/IEC 7816-4 command and response APDUs, status words, and the JPKI card's constants.

Shared by the virtual card (device side) and the kiosk's host side. Parsing never raises
anything but `ApduFormatError`, which carries the status word a card answers with.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

# -- application identifiers (public: OpenSC jpki.h, jpki/myna) ---------------------------
#: 公的個人認証AP (JPKI application).
AID_JPKI = bytes.fromhex("D392F000260100000001")
#: 券面事項入力補助AP (text-input support application: My Number and the four attributes).
AID_INPUT_SUPPORT = bytes.fromhex("D3921000310001010408")
#: 券面AP (card surface application); present on real cards, not emulated here.
AID_CARD_SURFACE = bytes.fromhex("D3921000310001010402")
#: The rig's 証明書等自動交付用カードアプリケーション (designed here: docs/card-ap.md).
AID_CARD_AP = bytes.fromhex("F04B4F4E42494E494150")  # F0 "KONBINIAP": proprietary, unregistered

# -- JPKI AP elementary files ------------------------------------------------------------
EF_SIGN_CERT = 0x0001
EF_SIGN_CA_CERT = 0x0002
EF_TOKEN = 0x0006
EF_AUTH_CERT = 0x000A
EF_AUTH_CA_CERT = 0x000B
EF_AUTH_KEY = 0x0017
EF_AUTH_PIN = 0x0018
EF_SIGN_KEY = 0x001A
EF_SIGN_PIN = 0x001B

# -- 券面事項入力補助AP elementary files ---------------------------------------------------
EF_IS_MY_NUMBER = 0x0001
EF_IS_ATTRIBUTES = 0x0002
EF_IS_PIN = 0x0011

# -- card AP elementary files (rig design) -----------------------------------------------
EF_CARD_AP_INFO = 0x0001

#: JPKI token EF contents (32 bytes on the card, space padded).
TOKEN_MY_NUMBER_CARD = "JPKIAPICCTOKEN2"
TOKEN_JUKI_CARD = "JPKIAPICCTOKEN"
TOKEN_SMARTPHONE = "JPKIAPGPSETOKEN"

#: ATR OpenSC's jpki driver matches directly (card-jpki.c).
ATR_JPKI = bytes.fromhex("3BE000FF8131FE4514")

AUTH_PIN_TRIES = 3
SIGN_PIN_TRIES = 5
INPUT_SUPPORT_PIN_TRIES = 3

INS_VERIFY = 0x20
INS_CHANGE_REFERENCE_DATA = 0x24
INS_RESET_RETRY_COUNTER = 0x2C
INS_PSO = 0x2A
INS_GET_CHALLENGE = 0x84
INS_INTERNAL_AUTHENTICATE = 0x88
INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_GET_RESPONSE = 0xC0

#: Instructions whose data field is a PIN or password and must never reach a trace.
PIN_BEARING_INS = frozenset({INS_VERIFY, INS_CHANGE_REFERENCE_DATA, INS_RESET_RETRY_COUNTER})


class SW(IntEnum):
    """Status words the emulated cards answer with (ISO/IEC 7816-4 §5.6)."""

    OK = 0x9000
    #: End of file reached before reading Le bytes.
    END_OF_FILE = 0x6282
    #: Selected file invalidated (damaged EF).
    FILE_INVALIDATED = 0x6283
    #: Verification failed; the low nibble carries the tries left (63 Cx).
    VERIFY_FAILED = 0x63C0
    MEMORY_FAILURE = 0x6581
    WRONG_LENGTH = 0x6700
    LOGICAL_CHANNEL_NOT_SUPPORTED = 0x6881
    SECURE_MESSAGING_NOT_SUPPORTED = 0x6882
    COMMAND_INCOMPATIBLE = 0x6981
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTH_METHOD_BLOCKED = 0x6983
    #: Reference data not usable: the JPKI card's answer for a blocked PIN.
    REFERENCE_DATA_NOT_USABLE = 0x6984
    CONDITIONS_NOT_SATISFIED = 0x6985
    COMMAND_NOT_ALLOWED_NO_EF = 0x6986
    WRONG_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    INCORRECT_P1P2 = 0x6A86
    LC_INCONSISTENT_WITH_P1P2 = 0x6A87
    REFERENCE_NOT_FOUND = 0x6A88
    WRONG_P1P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00


def sw_bytes(sw: int) -> bytes:
    """Two status bytes for any status word (including 63 Cx and 6C xx forms)."""
    return (sw & 0xFFFF).to_bytes(2, "big")


def verify_failed(tries_left: int) -> int:
    """The `63 Cx` status word for `tries_left` (0–15)."""
    return 0x63C0 | max(0, min(tries_left, 15))


def wrong_le(exact: int) -> int:
    """The `6C xx` status word: wrong Le, xx = the exact length (00 for 256)."""
    return 0x6C00 | (exact & 0xFF)


class ApduFormatError(ValueError):
    """A command APDU that cannot be parsed; `sw` is what a card answers with."""

    def __init__(self, sw: int, message: str):
        super().__init__(message)
        self.sw = sw


@dataclass(frozen=True)
class CommandAPDU:
    """A parsed command APDU (cases 1–4, short or extended length).

    `le` is None when absent; a short Le of 00 means 256, an extended Le of 0000 means 65536.
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None
    extended: bool = False

    @property
    def p1p2(self) -> int:
        return (self.p1 << 8) | self.p2

    @classmethod
    def parse(cls, raw: bytes) -> CommandAPDU:
        """Decode one command APDU; malformed input raises `ApduFormatError`."""
        if len(raw) < 4:
            raise ApduFormatError(SW.WRONG_LENGTH, f"APDU of {len(raw)} bytes: header truncated")
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        body = raw[4:]
        if not body:  # case 1
            return cls(cla, ins, p1, p2)
        if len(body) == 1:  # case 2 short
            return cls(cla, ins, p1, p2, le=body[0] or 256)
        if body[0] != 0:  # case 3/4 short
            lc = body[0]
            if len(body) == 1 + lc:
                return cls(cla, ins, p1, p2, data=bytes(body[1:]))
            if len(body) == 2 + lc:
                return cls(cla, ins, p1, p2, data=bytes(body[1 : 1 + lc]), le=body[-1] or 256)
            raise ApduFormatError(
                SW.WRONG_LENGTH, f"Lc={lc} but {len(body) - 1} bytes follow the Lc byte"
            )
        # extended length: body[0] == 0 and at least 3 bytes
        if len(body) == 3:  # case 2 extended
            le = int.from_bytes(body[1:3], "big") or 65536
            return cls(cla, ins, p1, p2, le=le, extended=True)
        if len(body) < 3:
            raise ApduFormatError(SW.WRONG_LENGTH, "truncated extended length field")
        lc = int.from_bytes(body[1:3], "big")
        if lc == 0:
            raise ApduFormatError(SW.WRONG_LENGTH, "extended Lc of zero")
        rest = body[3:]
        if len(rest) == lc:
            return cls(cla, ins, p1, p2, data=bytes(rest), extended=True)
        if len(rest) == lc + 2:
            le = int.from_bytes(rest[-2:], "big") or 65536
            return cls(cla, ins, p1, p2, data=bytes(rest[:lc]), le=le, extended=True)
        raise ApduFormatError(
            SW.WRONG_LENGTH, f"extended Lc={lc} but {len(rest)} bytes follow the length field"
        )

    def to_bytes(self) -> bytes:
        """Encode, choosing extended length only when needed or asked for."""
        head = bytes((self.cla, self.ins, self.p1, self.p2))
        extended = self.extended or len(self.data) > 255 or (self.le or 0) > 256
        out = bytearray(head)
        if extended:
            if self.data:
                out += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
            if self.le is not None:
                le = b"\x00\x00" if self.le >= 65536 else self.le.to_bytes(2, "big")
                out += le if self.data else b"\x00" + le
            return bytes(out)
        if self.data:
            out += bytes((len(self.data),)) + self.data
        if self.le is not None:
            out.append(0 if self.le >= 256 else self.le)
        return bytes(out)


@dataclass(frozen=True)
class ResponseAPDU:
    data: bytes
    sw: int

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        return self.sw == SW.OK

    @classmethod
    def parse(cls, raw: bytes) -> ResponseAPDU:
        if len(raw) < 2:
            raise ApduFormatError(SW.NO_PRECISE_DIAGNOSIS, "response shorter than SW1 SW2")
        return cls(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))

    def to_bytes(self) -> bytes:
        return self.data + sw_bytes(self.sw)


def response(sw: int, data: bytes = b"") -> bytes:
    return data + sw_bytes(sw)


# -- builders the host side uses ---------------------------------------------------------
def select_aid(aid: bytes) -> bytes:
    return CommandAPDU(0x00, INS_SELECT, 0x04, 0x0C, aid).to_bytes()


def select_ef(fid: int) -> bytes:
    return CommandAPDU(0x00, INS_SELECT, 0x02, 0x0C, fid.to_bytes(2, "big")).to_bytes()


def read_binary(offset: int, length: int) -> bytes:
    if not 0 <= offset <= 0x7FFF:
        raise ValueError("READ BINARY offset must fit in 15 bits")
    return CommandAPDU(0x00, INS_READ_BINARY, offset >> 8, offset & 0xFF, le=length).to_bytes()


def verify(pin: bytes | str) -> bytes:
    raw = pin.encode("ascii") if isinstance(pin, str) else pin
    return CommandAPDU(0x00, INS_VERIFY, 0x00, 0x80, raw).to_bytes()


def verify_status() -> bytes:
    """Empty VERIFY: asks for the tries left without spending one."""
    return CommandAPDU(0x00, INS_VERIFY, 0x00, 0x80).to_bytes()


def compute_signature(digest_info: bytes) -> bytes:
    return CommandAPDU(0x80, INS_PSO, 0x00, 0x80, digest_info, le=256).to_bytes()


def internal_authenticate(challenge: bytes, key_ref: int = 0x01) -> bytes:
    return CommandAPDU(0x00, INS_INTERNAL_AUTHENTICATE, 0x00, key_ref, challenge, 256).to_bytes()


# -- tracing -----------------------------------------------------------------------------
def masked_command_hex(raw: bytes) -> str:
    """The command as hex for a trace, with the data field of PIN-bearing commands masked.

    The header and the length fields stay visible (a vendor needs them to debug), the PIN
    bytes never appear: each is replaced by `**`.
    """
    if len(raw) > 5 and raw[1] in PIN_BEARING_INS:
        try:
            cmd = CommandAPDU.parse(raw)
        except ApduFormatError:
            # unparseable: keep only the header, the rest might hold PIN digits
            return raw[:4].hex().upper() + " " + "**" * (len(raw) - 4)
        if not cmd.data:
            return raw.hex().upper()
        start = 7 if cmd.extended else 5
        end = start + len(cmd.data)
        return (
            raw[:start].hex().upper() + " " + "**" * len(cmd.data) + " " + raw[end:].hex().upper()
        )
    return raw.hex().upper()

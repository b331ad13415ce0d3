"""JCM ID-003 wire codec (bill validator 紙幣識別機), shared by the emulator and host drivers.

Frame: ``SYNC(0xFC) LNG CMD DATA... CRC_L CRC_H``. ``LNG`` counts the whole frame, SYNC and
CRC included, so the shortest frame (no data) is 5 bytes. The CRC is CRC-16/Kermit (poly
0x1021 reflected, init 0) over SYNC..DATA, sent least significant byte first.

The serial line is 9600 baud, 8 data bits, even parity, 1 stop bit.

Rig decisions where public material is silent (see docs/cash.md):

* Yen escrow codes: 0x61 1,000; 0x62 2,000; 0x63 5,000; 0x64 10,000 yen. Bit ``n`` of the
  first data byte of ENABLE/INHIBIT DENOMINATION (0xC0) inhibits escrow code ``0x61 + n``.
* The acceptor does not answer a frame with a bad CRC or a LNG below 5 (the host times out
  and repeats); it answers a well-framed unknown command, or a known one with the wrong data
  length or in the wrong state, with INVALID COMMAND (0x4B).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from enum import IntEnum

SYNC = 0xFC
MIN_FRAME = 5
MAX_FRAME = 255
BAUDRATE = 9600


class Status(IntEnum):
    """Status codes the acceptor sends in answer to STATUS REQUEST (0x11)."""

    IDLING = 0x11
    ACCEPTING = 0x12
    ESCROW = 0x13
    STACKING = 0x14
    VEND_VALID = 0x15
    STACKED = 0x16
    REJECTING = 0x17
    RETURNING = 0x18
    HOLDING = 0x19
    DISABLED = 0x1A
    INITIALIZING = 0x1B
    POWER_UP = 0x40
    POWER_UP_BILL_IN_ACCEPTOR = 0x41
    POWER_UP_BILL_IN_STACKER = 0x42
    STACKER_FULL = 0x43
    STACKER_OPEN = 0x44
    ACCEPTOR_JAM = 0x45
    STACKER_JAM = 0x46
    PAUSE = 0x47
    CHEATED = 0x48
    FAILURE = 0x49
    COMMUNICATION_ERROR = 0x4A
    INVALID_COMMAND = 0x4B


#: Statuses that carry one data byte (escrow code, reject reason, failure code).
STATUS_DATA_LENGTH: dict[int, int] = {
    Status.ESCROW: 1,
    Status.REJECTING: 1,
    Status.FAILURE: 1,
}

ERROR_STATUSES = frozenset(
    {
        Status.STACKER_FULL,
        Status.STACKER_OPEN,
        Status.ACCEPTOR_JAM,
        Status.STACKER_JAM,
        Status.PAUSE,
        Status.CHEATED,
        Status.FAILURE,
    }
)

POWER_UP_STATUSES = frozenset(
    {Status.POWER_UP, Status.POWER_UP_BILL_IN_ACCEPTOR, Status.POWER_UP_BILL_IN_STACKER}
)


class Command(IntEnum):
    """Controller → acceptor commands."""

    STATUS_REQUEST = 0x11
    ACK = 0x50
    RESET = 0x40
    STACK_1 = 0x41
    STACK_2 = 0x42
    RETURN = 0x43
    HOLD = 0x44
    WAIT = 0x45
    SET_DENOMINATION = 0xC0
    SET_SECURITY = 0xC1
    SET_COMMUNICATION_MODE = 0xC2
    SET_INHIBIT = 0xC3
    SET_DIRECTION = 0xC4
    SET_OPTIONAL_FUNCTION = 0xC5
    GET_DENOMINATION = 0x80
    GET_SECURITY = 0x81
    GET_COMMUNICATION_MODE = 0x82
    GET_INHIBIT = 0x83
    GET_DIRECTION = 0x84
    GET_OPTIONAL_FUNCTION = 0x85
    GET_VERSION = 0x88
    GET_BOOT_VERSION = 0x89


#: Setting commands (echoed back) and the data length each takes.
SETTING_DATA_LENGTH: dict[int, int] = {
    Command.SET_DENOMINATION: 2,
    Command.SET_SECURITY: 2,
    Command.SET_COMMUNICATION_MODE: 1,
    Command.SET_INHIBIT: 1,
    Command.SET_DIRECTION: 1,
    Command.SET_OPTIONAL_FUNCTION: 2,
}

#: Setting status requests (0x80 + n) answer with the data of the setting (0xC0 + n).
SETTING_REQUESTS: dict[int, int] = {cmd - 0x40: cmd for cmd in SETTING_DATA_LENGTH}

#: Escrow code → yen.
DENOMINATIONS: dict[int, int] = {0x61: 1000, 0x62: 2000, 0x63: 5000, 0x64: 10000}
ESCROW_CODES: dict[int, int] = {yen: code for code, yen in DENOMINATIONS.items()}


class RejectReason(IntEnum):
    """Data byte of REJECTING (0x17)."""

    INSERTION = 0x71
    MAGNETIC_PATTERN = 0x72
    RETURN_ACTION = 0x73
    CALIBRATION = 0x74
    CONVEYING = 0x75
    DENOMINATION_ASSESSING = 0x76
    PHOTO_PATTERN = 0x77
    PHOTO_LEVEL = 0x78
    INHIBITED = 0x79
    OPERATION = 0x7B
    TRANSPORT = 0x7C
    LENGTH = 0x7D
    COLOR_PATTERN = 0x7E


class Id003Error(ValueError):
    """A malformed ID-003 frame or argument."""


class CrcError(Id003Error):
    """The CRC of a frame does not match its content."""


def crc16_kermit(data: bytes, crc: int = 0) -> int:
    """CRC-16/Kermit (reflected 0x1021, init 0, no final xor); check("123456789") = 0x2189."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


@dataclass(frozen=True)
class Frame:
    """One decoded frame: a command (host → acceptor) or a status/answer (acceptor → host)."""

    cmd: int
    data: bytes = b""

    def encode(self) -> bytes:
        return encode_frame(self.cmd, self.data)

    def name(self, direction: str = "host") -> str:
        """Readable name; an acceptor's ACK or setting echo is named after the command."""
        tables: tuple[type[IntEnum], ...] = (Command,) if direction == "host" else (Status, Command)
        for table in tables:
            try:
                return table(self.cmd).name
            except ValueError:
                continue
        return f"0x{self.cmd:02X}"


def encode_frame(cmd: int, data: bytes = b"") -> bytes:
    """Build a complete frame, CRC appended LSB first."""
    if not 0 <= cmd <= 0xFF:
        raise Id003Error(f"command byte out of range: {cmd}")
    length = MIN_FRAME + len(data)
    if length > MAX_FRAME:
        raise Id003Error(f"frame too long: {length} bytes")
    body = bytes((SYNC, length, cmd)) + bytes(data)
    crc = crc16_kermit(body)
    return body + bytes((crc & 0xFF, crc >> 8))


def decode_frame(raw: bytes) -> Frame:
    """Decode exactly one complete frame; raise `Id003Error`/`CrcError` if it is not one."""
    if len(raw) < MIN_FRAME or raw[0] != SYNC:
        raise Id003Error("not an ID-003 frame (missing SYNC or too short)")
    if raw[1] != len(raw):
        raise Id003Error(f"LNG {raw[1]} does not match the {len(raw)} bytes given")
    crc = crc16_kermit(raw[:-2])
    if raw[-2] != crc & 0xFF or raw[-1] != crc >> 8:
        raise CrcError("CRC mismatch")
    return Frame(raw[2], bytes(raw[3:-2]))


@dataclass(frozen=True)
class Discarded:
    """Bytes the decoder dropped while hunting for a frame, and why."""

    raw: bytes
    reason: str


class FrameDecoder:
    """Incremental decoder: feed any chunking of the byte stream, get frames out.

    Resynchronisation: bytes before a SYNC are dropped; a candidate with an impossible LNG or
    a bad CRC loses its SYNC byte and the hunt restarts one byte later. While a long
    candidate is still incomplete, a later SYNC that already forms a complete frame with a
    good CRC wins, so one stray ``FC xx`` cannot swallow the next real command.
    """

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        return len(self._buf)

    def clear(self) -> bytes:
        dropped = bytes(self._buf)
        self._buf.clear()
        return dropped

    def feed(self, chunk: bytes) -> list[Frame | Discarded]:
        self._buf.extend(chunk)
        out: list[Frame | Discarded] = []
        while self._buf:
            start = self._buf.find(SYNC)
            if start != 0:
                cut = len(self._buf) if start < 0 else start
                out.append(Discarded(bytes(self._buf[:cut]), "garbage before SYNC"))
                del self._buf[:cut]
                continue
            if len(self._buf) < 2:
                break
            length = self._buf[1]
            if length < MIN_FRAME:
                out.append(Discarded(bytes(self._buf[:1]), f"impossible LNG {length}"))
                del self._buf[:1]
                continue
            if len(self._buf) < length:
                later = self._complete_later_frame()
                if later is None:
                    break
                out.append(Discarded(bytes(self._buf[:later]), "incomplete frame superseded"))
                del self._buf[:later]
                continue
            raw = bytes(self._buf[:length])
            try:
                frame = decode_frame(raw)
            except Id003Error:
                out.append(Discarded(raw[:1], "bad CRC"))
                del self._buf[:1]
                continue
            out.append(frame)
            del self._buf[:length]
        return out

    def _complete_later_frame(self) -> int | None:
        """The first later offset that already holds a whole frame (SYNC, LNG and CRC good)."""
        for pos in range(1, len(self._buf) - 1):
            with contextlib.suppress(Id003Error):
                # a short or over-long slice fails decode_frame's LNG check
                decode_frame(bytes(self._buf[pos : pos + self._buf[pos + 1]]))
                return pos
        return None


def denomination_mask(enabled: set[int] | frozenset[int]) -> bytes:
    """Data of SET_DENOMINATION (0xC0) enabling exactly `enabled` (yen values)."""
    unknown = set(enabled) - set(ESCROW_CODES)
    if unknown:
        raise Id003Error(f"no escrow code for {sorted(unknown)} yen")
    mask = sum(1 << (code - 0x61) for code, yen in DENOMINATIONS.items() if yen not in enabled)
    return bytes((mask, 0x00))


def enabled_denominations(data: bytes) -> frozenset[int]:
    """Yen values a SET_DENOMINATION data field leaves enabled."""
    mask = data[0] if data else 0
    return frozenset(yen for code, yen in DENOMINATIONS.items() if not mask & (1 << (code - 0x61)))

"""ccTalk wire codec (coin acceptor 硬貨識別機 and change hoppers 釣銭ホッパー).

Frame: ``DEST LEN SRC HEADER DATA... CHECKSUM`` with the simple checksum: all bytes of the
frame sum to 0 modulo 256. ``LEN`` counts the data bytes only. A reply travels with
``HEADER = 0`` (ACK) and the answer data; ``HEADER = 5`` is NAK, ``HEADER = 6`` BUSY.

Rig decisions (see docs/cash.md): host address 1, coin acceptor 2, hoppers 3-6 for 10, 50,
100 and 500 yen; coin positions 1-4 for 10, 50, 100 and 500 yen; DISPENSE HOPPER COINS (167)
in its plain variant, data = one byte N; the single-hopper use of REQUEST HOPPER BALANCE (119).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

HOST_ADDRESS = 1
COIN_ACCEPTOR_ADDRESS = 2
BROADCAST_ADDRESS = 0
MIN_FRAME = 5
MAX_DATA = 255
INTER_BYTE_TIMEOUT_S = 0.050
BAUDRATE = 9600

#: Hopper address → the coin (yen) it pays out.
HOPPER_ADDRESSES: dict[int, int] = {3: 10, 4: 50, 5: 100, 6: 500}
#: Coin acceptor position (1-based) → yen.
COIN_POSITIONS: dict[int, int] = {1: 10, 2: 50, 3: 100, 4: 500}
COIN_IDS: dict[int, str] = {10: "JP010A", 50: "JP050A", 100: "JP100A", 500: "JP500A"}


class Header(IntEnum):
    ACK = 0
    RESET_DEVICE = 1
    NAK = 5
    BUSY = 6
    REQUEST_HOPPER_BALANCE = 119
    TEST_HOPPER = 163
    ENABLE_HOPPER = 164
    REQUEST_HOPPER_STATUS = 166
    DISPENSE_HOPPER_COINS = 167
    REQUEST_HOPPER_DISPENSE_COUNT = 168
    REQUEST_COIN_ID = 184
    REQUEST_PAYOUT_HIGH_LOW_STATUS = 217
    REQUEST_MASTER_INHIBIT_STATUS = 227
    MODIFY_MASTER_INHIBIT_STATUS = 228
    READ_BUFFERED_CREDIT = 229
    REQUEST_INHIBIT_STATUS = 230
    MODIFY_INHIBIT_STATUS = 231
    REQUEST_PRODUCT_CODE = 244
    REQUEST_EQUIPMENT_CATEGORY = 245
    REQUEST_MANUFACTURER_ID = 246
    SIMPLE_POLL = 254


class CoinError(IntEnum):
    """Result B of a buffered-credit pair whose result A is 0 (from the generic spec's table)."""

    NULL_EVENT = 0
    REJECT_COIN = 1
    INHIBITED_COIN = 2
    CREDIT_SENSOR_BLOCKED = 14
    REJECT_SLUG = 25
    COIN_RETURN_MECHANISM = 254


class HopperFlag(IntEnum):
    """Bits of the first byte answered to TEST HOPPER (163)."""

    MAX_CURRENT_EXCEEDED = 0x01
    PAYOUT_TIMEOUT = 0x02
    MOTOR_REVERSED = 0x04
    OPTO_BLOCKED_IDLE = 0x08
    OPTO_SHORT_IDLE = 0x10
    OPTO_BLOCKED_PAYOUT = 0x20
    POWER_UP_DETECTED = 0x40
    PAYOUT_DISABLED = 0x80


#: Bits answered to REQUEST PAYOUT HIGH / LOW STATUS (217).
LEVEL_LOW = 0x01
LEVEL_HIGH = 0x02
LEVEL_LOW_SUPPORTED = 0x10
LEVEL_HIGH_SUPPORTED = 0x20

#: Data byte of ENABLE HOPPER (164) that enables payout; any other value disables it.
HOPPER_ENABLE_CODE = 0xA5


class CcTalkError(ValueError):
    """A malformed ccTalk frame or argument."""


class ChecksumError(CcTalkError):
    """The bytes of a frame do not sum to 0 modulo 256."""


def checksum(body: bytes) -> int:
    """The byte that makes `body` plus itself sum to 0 modulo 256."""
    return (-sum(body)) & 0xFF


@dataclass(frozen=True)
class Packet:
    dest: int
    src: int
    header: int
    data: bytes = b""

    def encode(self) -> bytes:
        return encode_packet(self.dest, self.src, self.header, self.data)

    def header_name(self) -> str:
        try:
            return Header(self.header).name
        except ValueError:
            return str(self.header)


def encode_packet(dest: int, src: int, header: int, data: bytes = b"") -> bytes:
    for name, value in (("dest", dest), ("src", src), ("header", header)):
        if not 0 <= value <= 0xFF:
            raise CcTalkError(f"{name} out of range: {value}")
    if len(data) > MAX_DATA:
        raise CcTalkError(f"too much data: {len(data)} bytes")
    body = bytes((dest, len(data), src, header)) + bytes(data)
    return body + bytes((checksum(body),))


def decode_packet(raw: bytes) -> Packet:
    if len(raw) < MIN_FRAME:
        raise CcTalkError("too short for a ccTalk frame")
    if raw[1] + MIN_FRAME != len(raw):
        raise CcTalkError(f"length byte {raw[1]} does not match the {len(raw)} bytes given")
    if sum(raw) & 0xFF:
        raise ChecksumError("checksum mismatch")
    return Packet(raw[0], raw[2], raw[3], bytes(raw[4:-1]))


@dataclass(frozen=True)
class Discarded:
    raw: bytes
    reason: str


class PacketDecoder:
    """Incremental decoder for a ccTalk byte stream, framed as a device on the bus frames it.

    ccTalk has no SYNC byte: a frame starts after an inter-byte gap (the transport calls
    `clear()` after `INTER_BYTE_TIMEOUT_S` of silence), and its LEN byte says where it ends.
    A complete frame with a bad checksum is dropped whole, as is a sound frame for another
    address (or one that `accept` does not allow, e.g. not from the host to us); the next
    frame starts at the byte after it. An incomplete frame waits for its last byte or the gap.

    Bytes are never searched for a frame inside another: a frame's data can hold a sound
    frame by chance (the checksum is 8 bits), and a device that answered it would answer for
    another address. Garbage in front of a frame therefore costs that frame, as on a real
    bus; the host asks again after the gap.
    """

    def __init__(self, accept: frozenset[tuple[int, int]] | None = None) -> None:
        self._buf = bytearray()
        self._accept = accept

    @property
    def pending(self) -> int:
        return len(self._buf)

    def clear(self) -> bytes:
        dropped = bytes(self._buf)
        self._buf.clear()
        return dropped

    def feed(self, chunk: bytes) -> list[Packet | Discarded]:
        self._buf.extend(chunk)
        out: list[Packet | Discarded] = []
        while len(self._buf) >= 2 and len(self._buf) >= (size := self._buf[1] + MIN_FRAME):
            frame = bytes(self._buf[:size])
            del self._buf[:size]
            if sum(frame) & 0xFF:
                out.append(Discarded(frame, "bad checksum"))
            elif self._accept is not None and (frame[0], frame[2]) not in self._accept:
                out.append(Discarded(frame, "frame for another address"))
            else:
                out.append(decode_packet(frame))
        return out


def buffered_credit_pairs(data: bytes) -> tuple[int, list[tuple[int, int]]]:
    """Split a READ BUFFERED CREDIT (229) answer: event counter, 5 (A, B) pairs, newest first."""
    if len(data) != 11:
        raise CcTalkError(f"buffered credit answer must be 11 bytes, got {len(data)}")
    return data[0], [(data[1 + 2 * i], data[2 + 2 * i]) for i in range(5)]


def next_event_counter(counter: int) -> int:
    """Event counters run 1..255 and wrap to 1; 0 means 'just powered up or reset'."""
    return 1 if counter >= 255 else counter + 1


def events_between(old: int, new: int) -> int:
    """How many events happened between two counter readings (0 if unchanged)."""
    if new in (old, 0):
        return 0
    if old == 0:
        return new
    return new - old if new > old else new + 255 - old

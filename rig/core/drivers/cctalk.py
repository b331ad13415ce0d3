"""Host-side drivers for ccTalk: the bus, a coin acceptor, change hoppers, a change planner.

Typical use::

    bus = CcTalkBus.open("/dev/pts/6")               # local_echo=True on a one-wire bus
    coins = CoinAcceptor(bus); coins.enable()
    change = ChangeDispenser.standard(bus); change.enable()
    if change.plan(bill - fee) is None:              # ask BEFORE taking a big bill
        refuse_bill()
    for event in coins.poll(): ...                   # CoinEvent: credit (yen) or error code
    result = change.pay(650)                         # PayoutResult: paid, unpaid, per hopper
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import serial

from rig.core.drivers.serial_line import SerialDriver
from rig.core.protocols import cctalk
from rig.core.protocols.cctalk import CoinError, Header, HopperFlag, Packet


class CcTalkHostError(RuntimeError):
    """A device did not answer, or answered NAK / BUSY / nonsense."""


class NoReply(CcTalkHostError):
    pass


class Nak(CcTalkHostError):
    pass


class Busy(CcTalkHostError):
    pass


class CcTalkBus(SerialDriver):
    """The host (address 1) on one ccTalk bus."""

    LINE: ClassVar[dict[str, Any]] = {"baudrate": cctalk.BAUDRATE}

    def __init__(
        self,
        port: serial.SerialBase,
        *,
        local_echo: bool = False,
        timeout: float = 0.3,
        retries: int = 2,
    ) -> None:
        super().__init__(port, timeout=timeout)
        self.local_echo = local_echo
        self.retries = retries

    @classmethod
    def open(cls, url: str, *, local_echo: bool = False, timeout: float = 0.3) -> CcTalkBus:
        return cls(cls._open_port(url, timeout), local_echo=local_echo, timeout=timeout)

    def request(
        self, dest: int, header: int, data: bytes = b"", *, retries: int | None = None
    ) -> bytes:
        """Send one command; return the reply's data (raise on NAK, BUSY or silence).

        A command is repeated after a missing or corrupt reply only when repeating is safe;
        callers of commands that act (pay out coins) pass `retries=0` and check the device.
        """
        raw = cctalk.encode_packet(dest, cctalk.HOST_ADDRESS, header, data)
        accept = frozenset({(cctalk.HOST_ADDRESS, dest)})
        for _attempt in range((self.retries if retries is None else retries) + 1):
            self.port.reset_input_buffer()
            self.port.write(raw)
            self.port.flush()
            if self.local_echo and self.port.read(len(raw)) != raw:
                continue  # our own bytes did not come back: the line garbled them
            reply = self._read_one(cctalk.PacketDecoder(accept=accept).feed, Packet)
            if reply is None:
                continue
            if reply.header == Header.NAK:
                raise Nak(f"device {dest} refused header {header}")
            if reply.header == Header.BUSY:
                raise Busy(f"device {dest} busy for header {header}")
            if reply.header != Header.ACK:
                raise CcTalkHostError(f"device {dest} answered header {reply.header}")
            return reply.data
        raise NoReply(f"no reply from device {dest} to header {header}")

    def poll(self, dest: int) -> None:
        self.request(dest, Header.SIMPLE_POLL)

    def category(self, dest: int) -> str:
        return self.request(dest, Header.REQUEST_EQUIPMENT_CATEGORY).decode("ascii", "replace")


@dataclass(frozen=True)
class CoinEvent:
    """One buffered event: a credit (`yen` set) or an error (`error` set)."""

    yen: int | None = None
    position: int = 0
    sorter_path: int = 0
    error: CoinError | int | None = None


class CoinAcceptor:
    def __init__(self, bus: CcTalkBus, address: int = cctalk.COIN_ACCEPTOR_ADDRESS) -> None:
        self.bus = bus
        self.address = address
        self.counter: int | None = None
        self.lost_events = 0

    def reset(self) -> None:
        self.bus.request(self.address, Header.RESET_DEVICE)
        self.counter = None

    def enable(self, coins: set[int] | None = None) -> None:
        """Accept the given coins (all four by default), master inhibit off."""
        wanted = coins or set(cctalk.COIN_POSITIONS.values())
        mask = sum(1 << (p - 1) for p, yen in cctalk.COIN_POSITIONS.items() if yen in wanted)
        self.bus.request(self.address, Header.MODIFY_INHIBIT_STATUS, bytes((mask & 0xFF, 0)))
        self.bus.request(self.address, Header.MODIFY_MASTER_INHIBIT_STATUS, b"\x01")
        if self.counter is None:
            self.counter, _ = self._read()

    def inhibit(self) -> None:
        self.bus.request(self.address, Header.MODIFY_INHIBIT_STATUS, b"\x00\x00")

    def _read(self) -> tuple[int, list[tuple[int, int]]]:
        return cctalk.buffered_credit_pairs(
            self.bus.request(self.address, Header.READ_BUFFERED_CREDIT)
        )

    def poll(self) -> list[CoinEvent]:
        """New events since the last poll, oldest first; more than 5 missed are counted lost."""
        counter, pairs = self._read()
        # first reading, or counter 0 (the device was reset / powered up): a new baseline
        new = 0 if self.counter is None else cctalk.events_between(self.counter, counter)
        self.counter = counter
        self.lost_events += max(0, new - 5)
        events: list[CoinEvent] = []
        for a, b in reversed(pairs[: min(new, 5)]):
            if a == 0:
                err: CoinError | int = CoinError(b) if b in CoinError._value2member_map_ else b
                events.append(CoinEvent(error=err))
            else:
                events.append(CoinEvent(cctalk.COIN_POSITIONS.get(a), a, b))
        return events


@dataclass(frozen=True)
class HopperStatus:
    event_counter: int
    remaining: int
    paid: int
    unpaid: int


@dataclass(frozen=True)
class HopperLevel:
    yen: int
    count: int | None  # exact pieces (REQUEST HOPPER BALANCE), None if not supported
    low: bool
    high: bool


class Hopper:
    def __init__(self, bus: CcTalkBus, address: int, yen: int) -> None:
        self.bus = bus
        self.address = address
        self.yen = yen
        #: the hopper's dispense event counter as last seen (None: read it before dispensing)
        self._event_counter: int | None = None

    def reset(self) -> None:
        self.bus.request(self.address, Header.RESET_DEVICE)
        self._event_counter = None

    def enable(self) -> None:
        self.bus.request(self.address, Header.ENABLE_HOPPER, bytes((cctalk.HOPPER_ENABLE_CODE,)))

    def dispense(self, pieces: int) -> int:
        """Start paying `pieces` coins (plain DISPENSE HOPPER COINS); returns the event counter."""
        if not 1 <= pieces <= 255:
            raise ValueError(f"a hopper pays 1..255 coins per command, not {pieces}")
        if self._event_counter is None:
            self._event_counter = self.status().event_counter
        before = self._event_counter
        for _attempt in range(self.bus.retries + 1):
            try:
                data = self.bus.request(
                    self.address, Header.DISPENSE_HOPPER_COINS, bytes((pieces,)), retries=0
                )
            except NoReply:
                # The ACK may be what was lost: a blind repeat would pay twice. The hopper's
                # event counter says whether it took the command.
                now = self.status().event_counter
                if now != before:
                    self._event_counter = now
                    return now
                continue
            self._event_counter = data[0] if data else None
            return data[0] if data else -1
        raise NoReply(f"hopper {self.address} did not take DISPENSE HOPPER COINS")

    def status(self) -> HopperStatus:
        data = self.bus.request(self.address, Header.REQUEST_HOPPER_STATUS)
        if len(data) != 4:
            raise CcTalkHostError(f"hopper status must be 4 bytes, got {data.hex()}")
        self._event_counter = data[0]
        return HopperStatus(*data)

    def test(self) -> HopperFlag | int:
        data = self.bus.request(self.address, Header.TEST_HOPPER)
        return data[0] if data else 0

    def level(self) -> HopperLevel:
        bits = self.bus.request(self.address, Header.REQUEST_PAYOUT_HIGH_LOW_STATUS)
        flags = bits[0] if bits else 0
        count: int | None
        try:
            data = self.bus.request(self.address, Header.REQUEST_HOPPER_BALANCE, b"\x01")
            count = int.from_bytes(data[6:8], "little") if len(data) == 8 else None
        except Nak:
            count = None
        return HopperLevel(
            self.yen, count, bool(flags & cctalk.LEVEL_LOW), bool(flags & cctalk.LEVEL_HIGH)
        )

    def dispense_count(self) -> int:
        return int.from_bytes(
            self.bus.request(self.address, Header.REQUEST_HOPPER_DISPENSE_COUNT), "little"
        )

    def pay(self, pieces: int, max_polls: int = 200) -> HopperStatus:
        """Dispense and poll the status until the payout ends; totals over 255-coin chunks."""
        paid = unpaid = 0
        status = HopperStatus(0, 0, 0, 0)
        left = pieces
        while left > 0:
            chunk = min(left, 255)
            self.dispense(chunk)
            for _ in range(max_polls):
                status = self.status()
                if status.remaining == 0:
                    break
            else:
                raise CcTalkHostError(f"hopper {self.yen} still paying after {max_polls} polls")
            paid += status.paid
            left -= chunk
            if status.unpaid:
                unpaid = status.unpaid + left
                break
        return HopperStatus(status.event_counter, 0, paid, unpaid)


@dataclass
class PayoutResult:
    requested: int
    paid: int = 0
    by_coin: dict[int, int] = field(default_factory=dict)
    unpaid_by_coin: dict[int, int] = field(default_factory=dict)

    @property
    def unpaid(self) -> int:
        return self.requested - self.paid

    @property
    def complete(self) -> bool:
        return self.paid == self.requested


def plan_change(amount: int, levels: dict[int, int]) -> dict[int, int] | None:
    """Fewest coins that make `amount` from the stock in `levels` (yen → pieces), or None."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    # exact bounded change-making: small dynamic programme over the amount
    best: dict[int, dict[int, int]] = {0: {}}
    for yen in sorted(levels, reverse=True):
        nxt = dict(best)
        for total, used in best.items():
            for n in range(1, levels[yen] + 1):
                value = total + n * yen
                if value > amount:
                    break
                candidate = {**used, yen: n}
                if value not in nxt or sum(candidate.values()) < sum(nxt[value].values()):
                    nxt[value] = candidate
        best = nxt
    return best.get(amount)


class ChangeDispenser:
    """All hoppers together: levels, planning and paying an amount of change."""

    def __init__(self, hoppers: list[Hopper]) -> None:
        self.hoppers = {h.yen: h for h in hoppers}

    @classmethod
    def standard(cls, bus: CcTalkBus) -> ChangeDispenser:
        return cls([Hopper(bus, addr, yen) for addr, yen in cctalk.HOPPER_ADDRESSES.items()])

    def enable(self) -> None:
        for hopper in self.hoppers.values():
            hopper.enable()

    def levels(self) -> dict[int, int]:
        """Pieces in each hopper (0 for a hopper that cannot say)."""
        return {yen: hopper.level().count or 0 for yen, hopper in self.hoppers.items()}

    def plan(self, amount: int) -> dict[int, int] | None:
        return plan_change(amount, self.levels())

    def can_pay(self, amount: int) -> bool:
        return self.plan(amount) is not None

    def pay(self, amount: int) -> PayoutResult:
        """Pay `amount`; a short hopper's shortfall is retried from smaller coins."""
        result = PayoutResult(amount)
        levels = self.levels()
        for _round in range(len(self.hoppers)):
            owed = amount - result.paid
            if owed == 0:
                break
            plan = plan_change(owed, levels) or _greedy(owed, levels)
            if not plan:
                break
            for yen, pieces in sorted(plan.items(), reverse=True):
                status = self.hoppers[yen].pay(pieces)
                result.paid += status.paid * yen
                result.by_coin[yen] = result.by_coin.get(yen, 0) + status.paid
                if status.unpaid:
                    result.unpaid_by_coin[yen] = result.unpaid_by_coin.get(yen, 0) + status.unpaid
                    levels[yen] = 0  # this hopper cannot pay more now
                else:
                    levels[yen] -= status.paid
        return result


def _greedy(amount: int, levels: dict[int, int]) -> dict[int, int]:
    plan: dict[int, int] = {}
    for yen in sorted(levels, reverse=True):
        n = min(levels[yen], amount // yen)
        if n:
            plan[yen] = n
            amount -= n * yen
    return plan

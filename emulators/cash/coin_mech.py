"""Device models on the ccTalk bus: a coin acceptor (硬貨識別機) and change hoppers (釣銭ホッパー).

Coins accepted go to the cashbox; change comes only from the hoppers (no recycling). A
payout advances by up to `COINS_PER_REQUEST` coins each time the host talks to the hopper,
so a kiosk that polls REQUEST HOPPER STATUS sees the payout progress and end.
"""

from __future__ import annotations

from collections import deque

from emulators.cash import audit
from emulators.cash.audit import Ledger
from emulators.cash.faults import FaultCounters
from emulators.cash.money import Authenticity, Item, coin
from rig.core.protocols import cctalk
from rig.core.protocols.cctalk import CoinError, Header, HopperFlag, Packet

COINS_PER_REQUEST = 4
MANUFACTURER = b"KNB"
HOPPER_HIGH_LEVEL = 1000

_COIN_REJECTS: dict[Authenticity, CoinError] = {
    Authenticity.COUNTERFEIT: CoinError.REJECT_SLUG,
    Authenticity.FOREIGN: CoinError.REJECT_COIN,
    Authenticity.DAMAGED: CoinError.REJECT_COIN,
}


def ack(data: bytes = b"") -> tuple[int, bytes]:
    return Header.ACK, data


NAK: tuple[int, bytes] = (Header.NAK, b"")
BUSY: tuple[int, bytes] = (Header.BUSY, b"")


class CcTalkDevice:
    """Headers every device answers; subclasses add their own."""

    category = b""
    product = b""

    def __init__(self, address: int) -> None:
        self.address = address
        self.event_counter = 0

    def answer(self, packet: Packet) -> tuple[int, bytes]:
        header, data = packet.header, packet.data
        if header == Header.SIMPLE_POLL and not data:
            return ack()
        if header == Header.REQUEST_EQUIPMENT_CATEGORY and not data:
            return ack(self.category)
        if header == Header.REQUEST_MANUFACTURER_ID and not data:
            return ack(MANUFACTURER)
        if header == Header.REQUEST_PRODUCT_CODE and not data:
            return ack(self.product)
        if header == Header.RESET_DEVICE and not data:
            self.reset()
            return ack()
        return self.answer_specific(header, data)

    def answer_specific(self, header: int, data: bytes) -> tuple[int, bytes]:
        return NAK

    def reset(self) -> None:
        self.event_counter = 0


class CoinAcceptorModel(CcTalkDevice):
    category = b"Coin Acceptor"
    product = b"RIG-CA"

    def __init__(self, ledger: Ledger, faults: FaultCounters) -> None:
        super().__init__(cctalk.COIN_ACCEPTOR_ADDRESS)
        self._ledger = ledger
        self._faults = faults
        self.events: deque[tuple[int, int]] = deque(maxlen=5)
        self.inhibit_mask = 0
        self.master_enabled = True
        self.reset()

    @property
    def jammed(self) -> bool:
        return bool(self._ledger.contents(audit.COIN_MECH))

    def reset(self) -> None:
        super().reset()
        self.events.clear()
        # after power-up or reset every coin is inhibited until the host enables it
        self.inhibit_mask = 0
        self.master_enabled = True

    def _event(self, a: int, b: int) -> None:
        self.event_counter = cctalk.next_event_counter(self.event_counter)
        self.events.appendleft((a, b))

    def insert(self, item: Item, powered: bool) -> str:
        if not powered:
            self._ledger.move(item, audit.CUSTOMER, audit.TRAY, "coin fell through: no power")
            return "returned: coin acceptor has no power"
        if self.jammed:
            self._ledger.move(item, audit.CUSTOMER, audit.TRAY, "coin acceptor jammed")
            self._event(0, CoinError.CREDIT_SENSOR_BLOCKED)
            return "returned: coin acceptor jammed"
        if self._faults.next_coin_jams():
            self._ledger.move(item, audit.CUSTOMER, audit.COIN_MECH, "coin jammed")
            self._event(0, CoinError.CREDIT_SENSOR_BLOCKED)
            return "jammed"
        if item.authenticity is not Authenticity.GENUINE:
            reason = f"coin rejected ({item.authenticity})"
            self._ledger.move(item, audit.CUSTOMER, audit.TRAY, reason)
            self._event(0, _COIN_REJECTS[item.authenticity])
            return f"returned: {item.authenticity}"
        position = next(p for p, yen in cctalk.COIN_POSITIONS.items() if yen == item.yen)
        if not self.master_enabled or not self.inhibit_mask & (1 << (position - 1)):
            self._ledger.move(item, audit.CUSTOMER, audit.TRAY, "coin inhibited")
            self._event(0, CoinError.INHIBITED_COIN)
            return "returned: inhibited"
        self._ledger.move(item, audit.CUSTOMER, audit.CASHBOX, "coin accepted")
        self._event(position, 1)
        return "accepted"

    def clear_jam(self) -> bool:
        return bool(self._ledger.move_all(audit.COIN_MECH, audit.TRAY, "coin jam cleared"))

    def answer_specific(self, header: int, data: bytes) -> tuple[int, bytes]:
        if header == Header.READ_BUFFERED_CREDIT and not data:
            pairs = list(self.events) + [(0, 0)] * (5 - len(self.events))
            return ack(bytes([self.event_counter, *(v for pair in pairs for v in pair)]))
        if header == Header.MODIFY_INHIBIT_STATUS and len(data) == 2:
            self.inhibit_mask = data[0] | data[1] << 8
            return ack()
        if header == Header.REQUEST_INHIBIT_STATUS and not data:
            return ack(bytes((self.inhibit_mask & 0xFF, self.inhibit_mask >> 8)))
        if header == Header.MODIFY_MASTER_INHIBIT_STATUS and len(data) == 1:
            self.master_enabled = bool(data[0] & 1)
            return ack()
        if header == Header.REQUEST_MASTER_INHIBIT_STATUS and not data:
            return ack(bytes((int(self.master_enabled),)))
        if header == Header.REQUEST_COIN_ID and len(data) == 1:
            yen = cctalk.COIN_POSITIONS.get(data[0])
            return ack(cctalk.COIN_IDS[yen].encode() if yen else b"......")
        return NAK


class HopperModel(CcTalkDevice):
    category = b"Payout"
    product = b"RIG-HOP"

    def __init__(self, address: int, yen: int, ledger: Ledger, faults: FaultCounters) -> None:
        super().__init__(address)
        self.yen = yen
        self.place = audit.hopper_place(yen)
        self.item = coin(yen)
        self._ledger = ledger
        self._faults = faults
        self.low_level = faults.plan.hopper_low_level
        self.enabled = False
        self.remaining = 0
        self.last_paid = 0
        self.last_unpaid = 0
        self.flags = HopperFlag.POWER_UP_DETECTED.value
        self.jammed = False

    @property
    def level(self) -> int:
        return self._ledger.count(self.place, self.item)

    def reset(self) -> None:
        super().reset()
        self.enabled = False
        if self.remaining:  # a reset mid-payout abandons the rest
            self.last_unpaid, self.remaining = self.remaining, 0
        self.flags = 0

    def progress(self) -> None:
        """Pay out the next few coins of a running payout (called on each request)."""
        for _ in range(COINS_PER_REQUEST):
            if not self.remaining:
                return
            if self.jammed or self._faults.next_payout_jams(self.yen):
                self.jammed = True
                self._stop(HopperFlag.OPTO_BLOCKED_PAYOUT)
                return
            if self.level == 0:
                self._stop(HopperFlag.PAYOUT_TIMEOUT)
                return
            self._ledger.move(self.item, self.place, audit.TRAY, "hopper payout")
            self.remaining -= 1
            self.last_paid += 1

    def _stop(self, flag: HopperFlag) -> None:
        self.flags |= flag
        self.last_unpaid += self.remaining
        self.remaining = 0

    def clear_jam(self) -> bool:
        was, self.jammed = self.jammed, False
        self.flags &= ~HopperFlag.OPTO_BLOCKED_PAYOUT
        return was

    def answer_specific(self, header: int, data: bytes) -> tuple[int, bytes]:
        if header == Header.DISPENSE_HOPPER_COINS and len(data) == 1:
            if not self.enabled or data[0] == 0:
                return NAK
            if self.remaining:
                return BUSY
            self.event_counter = cctalk.next_event_counter(self.event_counter)
            self.remaining, self.last_paid, self.last_unpaid = data[0], 0, 0
            self.flags &= ~HopperFlag.PAYOUT_TIMEOUT
            return ack(bytes((self.event_counter,)))
        if header == Header.REQUEST_HOPPER_STATUS and not data:
            return ack(
                bytes((self.event_counter, self.remaining, self.last_paid, self.last_unpaid))
            )
        if header == Header.ENABLE_HOPPER and len(data) == 1:
            self.enabled = data[0] == cctalk.HOPPER_ENABLE_CODE
            return ack()
        if header == Header.TEST_HOPPER and not data:
            first = self.flags | (0 if self.enabled else HopperFlag.PAYOUT_DISABLED)
            return ack(bytes((first & 0xFF, 0)))
        if header == Header.REQUEST_HOPPER_DISPENSE_COUNT and not data:
            count = self._ledger.moved(src=self.place, dst=audit.TRAY) & 0xFFFFFF
            return ack(count.to_bytes(3, "little"))
        if header == Header.REQUEST_PAYOUT_HIGH_LOW_STATUS and not data:
            level = self.level
            bits = cctalk.LEVEL_LOW_SUPPORTED | cctalk.LEVEL_HIGH_SUPPORTED
            bits |= cctalk.LEVEL_LOW if level <= self.low_level else 0
            bits |= cctalk.LEVEL_HIGH if level >= HOPPER_HIGH_LEVEL else 0
            return ack(bytes((bits,)))
        if header == Header.REQUEST_HOPPER_BALANCE and data == b"\x01":
            level = min(self.level, 0xFFFF)
            return ack(cctalk.COIN_IDS[self.yen].encode() + level.to_bytes(2, "little"))
        return NAK


class CcTalkBusModel:
    """Every device on the one ccTalk bus, dispatched by destination address."""

    def __init__(self, ledger: Ledger, faults: FaultCounters) -> None:
        self.acceptor = CoinAcceptorModel(ledger, faults)
        self.hoppers: dict[int, HopperModel] = {
            yen: HopperModel(addr, yen, ledger, faults)
            for addr, yen in cctalk.HOPPER_ADDRESSES.items()
        }
        self.devices: dict[int, CcTalkDevice] = {self.acceptor.address: self.acceptor}
        self.devices.update({h.address: h for h in self.hoppers.values()})
        self.powered = True

    def accepted_routes(self) -> frozenset[tuple[int, int]]:
        return frozenset((addr, cctalk.HOST_ADDRESS) for addr in self.devices)

    def power_off(self) -> None:
        self.powered = False
        for hopper in self.hoppers.values():
            # a payout in flight stops where it was; the coins already out are in the tray
            hopper.remaining = 0

    def power_on(self) -> None:
        self.powered = True
        for device in self.devices.values():
            device.reset()
        for hopper in self.hoppers.values():
            hopper.flags = HopperFlag.POWER_UP_DETECTED.value

    def handle(self, packet: Packet) -> bytes | None:
        """Answer one packet addressed to a device on this bus (None: stay silent)."""
        if not self.powered or packet.src != cctalk.HOST_ADDRESS:
            return None
        device = self.devices.get(packet.dest)
        if device is None:
            return None
        if isinstance(device, HopperModel):
            device.progress()
        header, data = device.answer(packet)
        return cctalk.encode_packet(cctalk.HOST_ADDRESS, device.address, header, data)

"""What a scenario can do at the cash unit: as the customer (客) and as store staff (店員)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from emulators.cash import audit
from emulators.cash.audit import Ledger
from emulators.cash.bill_validator import BillValidatorModel
from emulators.cash.coin_mech import CcTalkBusModel
from emulators.cash.money import Authenticity, Item, bill, coin
from rig.core.protocols.id003 import Status

CUSTOMER_CHANNEL = "cash_customer"


@dataclass(frozen=True)
class InsertOutcome:
    item: Item
    result: str

    @property
    def taken(self) -> bool:
        return self.result in ("taken in", "accepted", "jammed")


class _Hands:
    """What a person at the unit reaches: its books and devices, under the unit's lock, with
    every action recorded on the unit's customer channel."""

    def __init__(
        self,
        ledger: Ledger,
        validator: BillValidatorModel,
        bus: CcTalkBusModel,
        lock: threading.RLock,
        record: Callable[..., object],
    ) -> None:
        self._ledger = ledger
        self._validator = validator
        self._bus = bus
        self._lock = lock
        self._record = record


class Customer(_Hands):
    """The customer's side of the cash unit: slot, coin entry, change tray."""

    def begin(self, label: str | None = None) -> str:
        """Start a new transaction (a new customer at the kiosk); returns its name."""
        with self._lock:
            name = self._ledger.begin_session(label)
        self._record("begin", session=name)
        return name

    @property
    def session(self) -> str:
        return self._ledger.session

    def insert_bill(
        self, yen: int, kind: Authenticity | str = Authenticity.GENUINE
    ) -> InsertOutcome:
        """Push a bill into the slot. A busy, disabled or unpowered acceptor refuses it."""
        item = bill(yen, kind)
        with self._lock:
            result = self._validator.insert(item)
        self._record("insert_bill", item=item.label(), result=result)
        return InsertOutcome(item, result)

    def insert_coin(
        self, yen: int, kind: Authenticity | str = Authenticity.GENUINE
    ) -> InsertOutcome:
        """Drop a coin in. Refused coins land in the tray at once, as in a real coin mech."""
        item = coin(yen, kind)
        with self._lock:
            result = self._bus.acceptor.insert(item, powered=self._bus.powered)
        self._record("insert_coin", item=item.label(), result=result)
        return InsertOutcome(item, result)

    def tray(self) -> list[Item]:
        """What the customer can see waiting: coins in the tray and bills at the slot."""
        with self._lock:
            return self._ledger.contents(audit.TRAY) + self._ledger.contents(audit.BEZEL)

    def take_change(self) -> list[Item]:
        """Take everything from the tray and the slot into the customer's hands."""
        with self._lock:
            taken = [
                *self._ledger.move_all(audit.TRAY, audit.CUSTOMER, "taken by customer"),
                *self._ledger.move_all(audit.BEZEL, audit.CUSTOMER, "taken by customer"),
            ]
        self._record("take_change", items=[i.label() for i in taken])
        return taken


class Operator(_Hands):
    """Store staff: fill hoppers, empty the cassette and cashbox, clear jams, force errors."""

    def load_hopper(self, yen: int, pieces: int) -> None:
        with self._lock:
            if yen not in self._bus.hoppers:
                raise ValueError(f"no {yen} yen hopper")
            if pieces > 0:
                self._ledger.move(
                    coin(yen), audit.OPERATOR, audit.hopper_place(yen), "hopper filled", pieces
                )
        self._record("load_hopper", yen=yen, pieces=pieces)

    def hopper_levels(self) -> dict[int, int]:
        with self._lock:
            return {yen: hopper.level for yen, hopper in self._bus.hoppers.items()}

    def empty_cassette(self) -> list[Item]:
        """Collect the bills (staff may do so only with the stacker open or in an error)."""
        with self._lock:
            items = self._ledger.move_all(audit.CASSETTE, audit.OPERATOR, "cassette emptied")
            self._validator.resettle()
        self._record("empty_cassette", bills=len(items))
        return items

    def empty_cashbox(self) -> list[Item]:
        with self._lock:
            items = self._ledger.move_all(audit.CASHBOX, audit.OPERATOR, "cashbox emptied")
        self._record("empty_cashbox", coins=len(items))
        return items

    def open_stacker(self) -> None:
        with self._lock:
            self._validator.stacker_open = True
            self._validator.resettle()
        self._record("open_stacker")

    def close_stacker(self) -> None:
        with self._lock:
            self._validator.stacker_open = False
            self._validator.resettle()
        self._record("close_stacker")

    def clear_bill_jam(self) -> list[str]:
        with self._lock:
            done = self._validator.clear_jams()
        self._record("clear_bill_jam", cleared=done)
        return done

    def clear_coin_jam(self) -> bool:
        with self._lock:
            done = self._bus.acceptor.clear_jam()
        self._record("clear_coin_jam", cleared=done)
        return done

    def clear_hopper_jam(self, yen: int) -> bool:
        with self._lock:
            done = self._bus.hoppers[yen].clear_jam()
        self._record("clear_hopper_jam", yen=yen, cleared=done)
        return done

    def force_bill_error(self, status: Status, code: int = 0) -> None:
        """Make the acceptor report an error (e.g. CHEATED, FAILURE with `code`) until cleared."""
        with self._lock:
            self._validator.forced_error = (status, code)
            self._validator.resettle()
        self._record("force_bill_error", status=status.name, code=code)

    def clear_bill_error(self) -> None:
        with self._lock:
            self._validator.forced_error = None
            self._validator.resettle()
        self._record("clear_bill_error")

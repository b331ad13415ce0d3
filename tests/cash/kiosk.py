"""A minimal kiosk payment routine built only on the host drivers (as a vendor's would be).

It is the tests' stand-in for the reference kiosk: it never looks inside the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rig.core.drivers.cctalk import ChangeDispenser, CoinAcceptor, PayoutResult
from rig.core.drivers.id003 import BillEvent, BillEventKind, BillValidator


@dataclass
class Payment:
    fee: int
    credit: int = 0
    refused_bills: list[int] = field(default_factory=list)
    bill_events: list[BillEvent] = field(default_factory=list)
    coin_errors: list[object] = field(default_factory=list)
    change: PayoutResult | None = None

    @property
    def paid(self) -> bool:
        return self.credit >= self.fee


class PaymentKiosk:
    def __init__(self, bv: BillValidator, coins: CoinAcceptor, change: ChangeDispenser) -> None:
        self.bv = bv
        self.coins = coins
        self.change = change

    def boot(self) -> None:
        self.bv.poll()
        self.bv.reset()
        self.bv.wait_for(BillEventKind.DISABLED, BillEventKind.IDLE)
        self.bv.enable()
        self.bv.wait_for(BillEventKind.IDLE)
        self.coins.enable()
        self.change.enable()

    def step(self, payment: Payment, polls: int = 12) -> Payment:
        """Poll both acceptors a few times, taking bills only if change can be paid."""
        for _ in range(polls):
            event = self.bv.poll()
            if event is not None:
                payment.bill_events.append(event)
                self._on_bill(payment, event)
            for coin_event in self.coins.poll():
                if coin_event.yen is not None:
                    payment.credit += coin_event.yen
                else:
                    payment.coin_errors.append(coin_event.error)
        return payment

    def _on_bill(self, payment: Payment, event: BillEvent) -> None:
        if event.kind is BillEventKind.ESCROW:
            assert event.denomination is not None
            owed_back = payment.credit + event.denomination - payment.fee
            if payment.paid or (owed_back > 0 and not self.change.can_pay(owed_back)):
                payment.refused_bills.append(event.denomination)
                self.bv.return_bill()
            else:
                self.bv.stack()
        elif event.kind is BillEventKind.CREDITED:
            assert event.denomination is not None
            payment.credit += event.denomination

    def settle(self, payment: Payment) -> Payment:
        """Pay the change owed (credit - fee)."""
        owed = payment.credit - payment.fee
        if owed > 0:
            payment.change = self.change.pay(owed)
        return payment

    def cancel(self, payment: Payment) -> Payment:
        """Give everything back (full refund of the credit so far)."""
        if payment.credit:
            payment.change = self.change.pay(payment.credit)
        payment.fee = 0
        return payment

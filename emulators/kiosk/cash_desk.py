"""The kiosk's cash handling over serial: bills (JCM ID-003) and coins with change (ccTalk).

The kiosk takes a bill only when it could pay the change it would owe; otherwise the bill
goes back from escrow. Money counts when the acceptor says so (VEND VALID, a coin credit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rig.core.drivers.cctalk import (
    CcTalkBus,
    CcTalkHostError,
    ChangeDispenser,
    CoinAcceptor,
    PayoutResult,
)
from rig.core.drivers.id003 import BillEventKind, BillValidator, BillValidatorError
from rig.core.protocols.id003 import Status

CashError = (BillValidatorError, CcTalkHostError, OSError)


@dataclass
class PaymentState:
    fee: int
    credit: int = 0
    returned_bills: list[int] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)

    @property
    def paid(self) -> bool:
        return self.credit >= self.fee

    @property
    def change_due(self) -> int:
        return max(0, self.credit - self.fee)


class CashDesk:
    """Bill validator, coin acceptor and change hoppers behind one small API."""

    def __init__(self, bill_port: str, coin_port: str):
        self.bill_port = bill_port
        self.coin_port = coin_port
        self._bv: BillValidator | None = None
        self._bus: CcTalkBus | None = None
        self._coins: CoinAcceptor | None = None
        self._change: ChangeDispenser | None = None
        self.payment: PaymentState | None = None
        self.accepting = False

    # -- life cycle ----------------------------------------------------------------------
    def open(self) -> None:
        self._bv = BillValidator.open(self.bill_port)
        self._bus = CcTalkBus.open(self.coin_port)
        self._coins = CoinAcceptor(self._bus)
        self._change = ChangeDispenser.standard(self._bus)
        bv = self._bv
        bv.poll()
        bv.reset()
        bv.wait_for(BillEventKind.DISABLED, BillEventKind.IDLE)
        bv.inhibit()
        self._coins.enable()
        self._coins.inhibit()
        self._change.enable()

    def close(self) -> None:
        for port in (self._bv, self._bus):
            if port is not None:
                port.close()
        self._bv = self._bus = None

    @property
    def bv(self) -> BillValidator:
        assert self._bv is not None, "cash desk not open"
        return self._bv

    @property
    def coins(self) -> CoinAcceptor:
        assert self._coins is not None, "cash desk not open"
        return self._coins

    @property
    def change(self) -> ChangeDispenser:
        assert self._change is not None, "cash desk not open"
        return self._change

    # -- a payment -----------------------------------------------------------------------
    def start(self, fee: int) -> PaymentState:
        self.payment = PaymentState(fee)
        self.coins.poll()  # forget events from before this payment
        self.bv.enable()
        self.coins.enable()
        self.accepting = True
        return self.payment

    def stop_accepting(self) -> None:
        """Refuse more money; a bill already in the head is finished or given back."""
        if not self.accepting:
            return
        self.accepting = False
        try:
            self.bv.inhibit()
        finally:
            # the coin mechanism is inhibited even when the bill link is dead
            self.coins.inhibit()
        for _ in range(12):
            self.poll()
            if self.bv.status in (Status.DISABLED, Status.IDLING):
                break

    def poll(self) -> int:
        """One round on both acceptors; returns the credit so far (0 with no payment)."""
        payment = self.payment
        event = self.bv.poll()
        if event is not None and payment is not None:
            if event.kind is BillEventKind.ESCROW and event.denomination is not None:
                self._on_escrow(payment, event.denomination)
            elif event.kind is BillEventKind.CREDITED and event.denomination is not None:
                payment.credit += event.denomination
            elif event.kind is BillEventKind.ERROR:
                payment.faults.append(f"bill:{event.status.name.lower()}")
        elif event is not None and event.kind is BillEventKind.ESCROW:
            self.bv.return_bill()
        for coin in self.coins.poll():
            if payment is None:
                continue
            if coin.yen is not None:
                payment.credit += coin.yen
            elif coin.error is not None:
                payment.faults.append(f"coin:{coin.error}")
        return payment.credit if payment is not None else 0

    def _on_escrow(self, payment: PaymentState, yen: int) -> None:
        owed_back = payment.credit + yen - payment.fee
        if (
            not self.accepting
            or payment.paid
            or (owed_back > 0 and not self.change.can_pay(owed_back))
        ):
            payment.returned_bills.append(yen)
            self.bv.return_bill()
        else:
            self.bv.stack()

    def pay_out(self, amount: int) -> PayoutResult:
        """Pay `amount` from the hoppers (change or a refund)."""
        if amount <= 0:
            return PayoutResult(0)
        return self.change.pay(amount)

    def finish(self) -> None:
        self.payment = None

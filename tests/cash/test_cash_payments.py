"""Whole payments over real ptys: a kiosk built on the host drivers against the emulator.

Each test ends with the audit reconciled: the books balance, the kiosk kept exactly the
fee, and the customer holds everything else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulators.cash import CashUnit, audit
from rig.core.drivers.cctalk import CcTalkBus, ChangeDispenser, CoinAcceptor, NoReply
from rig.core.drivers.id003 import BillEventKind, BillValidator, NoAnswer
from rig.core.protocols.id003 import RejectReason, Status
from tests.cash.conftest import UnitFactory
from tests.cash.kiosk import Payment, PaymentKiosk

FEE = 350  # 戸籍全部事項証明書 in several municipalities


def assert_reconciled(unit: CashUnit, session: str, kept: int) -> None:
    report = unit.reconcile()
    assert report.ok, report.problems
    summary = unit.ledger.summary(session)
    assert summary.net_yen == kept
    assert summary.customer_owed_yen == 0, "the customer did not get back all they were owed"
    assert unit.customer.tray() == []


def connect(unit: CashUnit) -> PaymentKiosk:
    bv = BillValidator.open(unit.endpoints["bill_validator_port"])
    bus = CcTalkBus.open(unit.endpoints["coin_port"])
    kiosk = PaymentKiosk(bv, CoinAcceptor(bus), ChangeDispenser.standard(bus))
    kiosk.boot()
    return kiosk


def disconnect(kiosk: PaymentKiosk) -> None:
    kiosk.bv.close()
    kiosk.coins.bus.close()


def test_exact_payment_with_coins(unit: CashUnit, kiosk: PaymentKiosk) -> None:
    session = unit.customer.begin("exact")
    payment = Payment(FEE)
    for yen in (100, 100, 100, 50):
        assert unit.customer.insert_coin(yen).result == "accepted"
    kiosk.step(payment, polls=1)
    assert payment.credit == FEE
    kiosk.settle(payment)
    assert payment.change is None
    summary = unit.ledger.summary(session)
    assert summary.cash_in == {("coin", 100): 3, ("coin", 50): 1} and summary.cash_out == {}
    assert_reconciled(unit, session, FEE)


def test_overpayment_with_change(unit: CashUnit, kiosk: PaymentKiosk) -> None:
    session = unit.customer.begin("overpay")
    payment = Payment(FEE)
    unit.customer.insert_bill(1000)
    kiosk.step(payment)
    assert payment.credit == 1000
    kiosk.settle(payment)
    assert payment.change is not None and payment.change.complete
    taken = unit.customer.take_change()
    assert sorted(i.yen for i in taken) == [50, 100, 500]
    summary = unit.ledger.summary(session)
    assert summary.cash_in == {("bill", 1000): 1}
    assert summary.cash_out == {("coin", 500): 1, ("coin", 100): 1, ("coin", 50): 1}
    assert_reconciled(unit, session, FEE)


def test_change_shortage_refuses_the_bill(make_unit: UnitFactory) -> None:
    unit = make_unit({"hopper_coins": {500: 0, 100: 2, 50: 0, 10: 10}})
    kiosk = connect(unit)
    try:
        session = unit.customer.begin("shortage")
        payment = Payment(FEE)
        unit.customer.insert_bill(1000)
        kiosk.step(payment)
        # 650 yen cannot be paid from 2 x 100 + 10 x 10: the bill goes back from escrow
        assert payment.refused_bills == [1000] and payment.credit == 0
        assert [i.yen for i in unit.customer.take_change()] == [1000]
        for yen in (100, 100, 100, 10, 10, 10, 10, 10):
            unit.customer.insert_coin(yen)
            kiosk.step(payment, polls=1)  # the coin buffer holds only 5 events
        assert payment.credit == FEE and kiosk.coins.lost_events == 0
        kiosk.settle(payment)
        assert unit.ledger.contents(audit.CASSETTE) == []
        assert_reconciled(unit, session, FEE)
    finally:
        disconnect(kiosk)


def test_insufficient_payment_cancelled_with_full_refund(
    unit: CashUnit, kiosk: PaymentKiosk
) -> None:
    session = unit.customer.begin("cancel")
    payment = Payment(FEE)
    unit.customer.insert_coin(100)
    unit.customer.insert_coin(100)
    unit.customer.insert_coin(50)
    kiosk.step(payment, polls=1)
    assert payment.credit == 250 and not payment.paid
    kiosk.cancel(payment)
    assert payment.change is not None and payment.change.complete
    assert sum(i.value for i in unit.customer.take_change()) == 250
    assert_reconciled(unit, session, 0)


def test_bill_jam_then_payment_with_coins(make_unit: UnitFactory) -> None:
    unit = make_unit({"acceptor_jam_on_bill": 1})
    kiosk = connect(unit)
    try:
        session = unit.customer.begin("jam")
        payment = Payment(FEE)
        unit.customer.insert_bill(1000)
        kiosk.step(payment, polls=4)
        errors = [e.error for e in payment.bill_events if e.error]
        assert errors == [Status.ACCEPTOR_JAM] and payment.credit == 0
        assert unit.customer.insert_bill(1000).result.startswith("refused")
        unit.operator.clear_bill_jam()
        assert [i.yen for i in unit.customer.take_change()] == [1000]
        unit.customer.insert_coin(500)
        kiosk.step(payment, polls=4)
        assert payment.credit == 500
        kiosk.settle(payment)
        assert sorted(i.yen for i in unit.customer.take_change()) == [50, 100]
        assert_reconciled(unit, session, FEE)
    finally:
        disconnect(kiosk)


def test_counterfeit_rejected_then_genuine_paid(unit: CashUnit, kiosk: PaymentKiosk) -> None:
    session = unit.customer.begin("counterfeit")
    payment = Payment(FEE)
    unit.customer.insert_bill(1000, "counterfeit")
    kiosk.step(payment, polls=4)
    rejected = [e for e in payment.bill_events if e.kind is BillEventKind.REJECTED]
    assert rejected[0].reason == RejectReason.MAGNETIC_PATTERN and payment.credit == 0
    fake = unit.customer.take_change()
    assert [(i.yen, i.authenticity) for i in fake] == [(1000, "counterfeit")]
    unit.customer.insert_coin(500, "counterfeit")
    unit.customer.insert_bill(1000)
    kiosk.step(payment)
    assert payment.credit == 1000 and len(payment.coin_errors) == 1
    kiosk.settle(payment)
    assert sum(i.value for i in unit.customer.take_change()) == 650
    assert_reconciled(unit, session, FEE)


def test_power_loss_during_stack_survives_emulator_restart(
    make_unit: UnitFactory, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    unit = make_unit({"power_loss_on_stack": 1}, state_dir=state)
    link = str(state / "bill_validator_port.tty")  # a stable name for the kiosk's config
    kiosk = connect(unit)
    try:
        session = unit.customer.begin("power-loss")
        payment = Payment(FEE)
        unit.customer.insert_bill(1000)
        with pytest.raises((NoAnswer, NoReply)):
            kiosk.step(payment)  # the unit dies under the kiosk's feet
        assert payment.credit == 0
        assert unit.ledger.contents(audit.STACKING)[0].yen == 1000
        unit.close()  # the emulator process is gone; only the books remain

        again = make_unit(state_dir=state)
        assert again.ledger.session == session
        kiosk.bv.reopen(link)
        kiosk.coins.bus.reopen(str(state / "coin_port.tty"))
        first = kiosk.bv.poll()
        assert first is not None and first.status == Status.POWER_UP_BILL_IN_STACKER
        kiosk.bv.reset()
        credited = kiosk.bv.wait_for(BillEventKind.CREDITED)
        assert credited.denomination == 1000  # remembered from the escrow before the loss
        payment.credit += 1000
        kiosk.change.enable()
        kiosk.settle(payment)
        assert sum(i.value for i in again.customer.take_change()) == 650
        assert again.ledger.contents(audit.CASSETTE)[0].yen == 1000
        assert_reconciled(again, session, FEE)
    finally:
        disconnect(kiosk)


def test_power_loss_with_bill_in_escrow_returns_it(unit: CashUnit, kiosk: PaymentKiosk) -> None:
    session = unit.customer.begin("escrow-loss")
    unit.customer.insert_bill(5000)
    assert kiosk.bv.wait_for(BillEventKind.ESCROW).denomination == 5000
    unit.power_loss()
    unit.power_on()
    assert kiosk.bv.poll() is not None and kiosk.bv.status == Status.POWER_UP_BILL_IN_ACCEPTOR
    kiosk.bv.reset()
    assert kiosk.bv.wait_for(BillEventKind.RETURNING).status == Status.RETURNING
    kiosk.bv.wait_for(BillEventKind.DISABLED)
    assert [i.yen for i in unit.customer.take_change()] == [5000]
    assert_reconciled(unit, session, 0)

"""Payment and printing: change, change shortage, cancellations, faults and their refunds.

Each test ends with the cash unit's books: the kiosk kept exactly what was due, the
customer holds everything else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulators.printer import Fault, FaultKind, VirtualPrinter
from rig.core.protocols.robot import ScreenId
from rig.harness.kiosk_steps import authenticate, choose_through_to_confirmation, take_everything
from rig.harness.world import World as KioskWorld


def _to_payment(world: KioskWorld, copies: int = 1) -> int:
    card = world.issue_card("mynumber-valid", world.resident())
    authenticate(world, card)
    choose_through_to_confirmation(world, "resident_record", copies=copies)
    world.customer.begin_cash("money")
    world.customer.tap("apply")
    view = world.customer.wait_for(ScreenId.PAYMENT)
    return int(view.facts["fee_yen"] or 0)


def _books(world: KioskWorld, kept: int) -> None:
    summary = world.cash.ledger.summary(world.cash.customer.session)
    assert summary.net_yen == kept
    assert summary.customer_owed_yen == 0
    assert world.cash.reconcile().ok


def test_change_is_paid(world: KioskWorld) -> None:
    fee = _to_payment(world)
    c = world.customer
    c.pay(1000)
    view = c.wait_for(ScreenId.TAKE_REMINDER)
    assert view.facts["change_yen"] == 1000 - fee
    assert "お釣りをお取りください。" in view.text
    take_everything(world)
    assert sum(i.yen for i in c.change) == 1000 - fee
    _books(world, fee)


@pytest.mark.world(cash_faults={"hopper_coins": {10: 0, 50: 0, 100: 0, 500: 0}})
def test_bill_returned_when_change_cannot_be_paid(world: KioskWorld) -> None:
    fee = _to_payment(world)
    c = world.customer
    c.pay(1000)
    for _ in range(200):
        if any(i.yen == 1000 for i in world.cash.customer.tray()):
            break
        world.robot.screen(wait=0.05)
    assert [i.yen for i in world.cash.customer.tray()] == [1000], "the bill came back"
    assert c.sees().screen is ScreenId.PAYMENT
    c.pay(100, 100)
    c.wait_for(ScreenId.TAKE_REMINDER)
    take_everything(world)
    _books(world, fee)


def test_cancel_during_payment_refunds(world: KioskWorld) -> None:
    _to_payment(world)
    c = world.customer
    c.pay(100)
    view = c.wait_for(ScreenId.PAYMENT)
    while view.facts["paid_yen"] != 100:
        view = world.robot.screen(after=view.seq, wait=2)
    view = c.cancel()
    assert view.screen is ScreenId.NOTICE and view.facts["code"] == "cancelled"
    assert view.facts["refund_yen"] == 100
    assert [i.yen for i in c.take_change()] == [100]
    _books(world, 0)
    assert world.centre.held_documents() == 0 and world.robot.held().empty


def test_printer_offline_refunds_at_once(world: KioskWorld) -> None:
    world.printer.inject(Fault(FaultKind.OFFLINE))
    fee = _to_payment(world)
    world.customer.pay(100, 100)
    view = world.customer.wait_for(ScreenId.NOTICE)
    assert view.facts["code"] == "print_failed" and view.facts["refund_yen"] == fee
    assert sum(i.yen for i in world.customer.take_change()) == fee
    _books(world, 0)
    assert world.centre.settlement() == [] or all(
        int(r["copies"]) == 0 for r in world.centre.settlement()
    )
    failed = (
        [r for r in world.evidence.records("centre") if r["event"] == "completed"]
        if world.evidence
        else []
    )
    assert failed and failed[-1]["outcome"] == "failed", "the centre was told"


def test_paper_out_then_refill_prints(world: KioskWorld) -> None:
    world.printer.inject(Fault(FaultKind.PAPER_OUT, sheets=0))
    fee = _to_payment(world)
    world.customer.pay(100, 100)
    view = world.customer.wait_for(ScreenId.PRINTING)
    while not view.facts.get("printer_problem"):
        view = world.robot.screen(after=view.seq, wait=2)
    assert "media-empty" in str(view.facts["printer_problem"])
    world.printer.faults.refill()
    world.customer.wait_for(ScreenId.TAKE_REMINDER)
    take_everything(world)
    assert world.customer.certificates
    _books(world, fee)


def test_copies_limit(world: KioskWorld) -> None:
    card = world.issue_card("mynumber-valid", world.resident())
    authenticate(world, card)
    c = world.customer
    view = c.tap("resident_record")
    while view.screen is not ScreenId.COPIES:
        view = c.tap("next")
    limit = int(view.facts["max_copies"] or 0)
    assert limit == 10
    view = c.type_number(99)
    assert view.facts["copies"] == limit
    assert f"一度に交付できるのは{limit}通までです。" in view.text
    option = view.option("plus")
    assert option is not None and not option.enabled
    view = c.type_number(2)
    assert view.facts["copies"] == 2
    view = c.tap("next")
    assert view.screen is ScreenId.CONFIRMATION and view.facts["fee_yen"] == 400


@pytest.mark.world(cash_faults={"acceptor_jam_on_bill": 1})
def test_bill_jam_shown_and_coins_still_accepted(world: KioskWorld) -> None:
    fee = _to_payment(world)
    c = world.customer
    c.pay(1000)
    view = c.wait_for(ScreenId.PAYMENT)
    while not view.facts.get("cash_fault"):
        view = world.robot.screen(after=view.seq, wait=2)
    assert view.facts["paid_yen"] == 0, "a jammed bill is not credited"
    assert any("紙幣を受け付けられません" in line for line in view.text)
    c.pay(100, 100)
    c.wait_for(ScreenId.TAKE_REMINDER)
    take_everything(world)
    faults = [e for e in world.kiosk.audit.entries() if e["event"] == "cash_fault"]
    assert faults and "bill:acceptor_jam" in faults[0]["faults"]
    # staff clear the jam: the bill comes back to the customer, the books balance
    world.cash.operator.clear_bill_jam()
    c.take_change()
    _books(world, fee)


@pytest.mark.world(
    cash_faults={"hopper_coins": {10: 0, 50: 0, 100: 5, 500: 5}, "hopper_jam_on_coin": {100: 1}}
)
def test_change_short_when_a_hopper_jams(world: KioskWorld) -> None:
    fee = _to_payment(world)
    c = world.customer
    c.pay(1000)
    view = c.wait_for(ScreenId.TAKE_REMINDER)
    owed = 1000 - fee
    unpaid = int(view.facts["unpaid_yen"] or 0)
    assert 0 < unpaid <= owed
    assert any("店員をお呼びください" in line for line in view.text)
    paid = [e for e in world.kiosk.audit.entries() if e["event"] == "paid"]
    assert paid[-1]["unpaid_yen"] == unpaid
    assert sum(i.yen for i in c.take_change()) == owed - unpaid


def test_no_receipt_on_a_printer_that_came_up_after_the_certificates(
    world: KioskWorld, tmp_path: Path
) -> None:
    """The printer the certificates came out of goes away at the take-your-things reminder and
    another one answers at its address (the next scenario's, a replaced unit): the receipt of
    the old transaction must not come out of it into the next customer's tray."""
    card = world.issue_card("mynumber-valid", world.resident())
    authenticate(world, card)
    choose_through_to_confirmation(world, "resident_record")
    c = world.customer
    c.begin_cash("money")
    c.tap("apply")
    c.wait_for(ScreenId.PAYMENT)
    c.pay(1000)
    view = c.wait_for(ScreenId.TAKE_REMINDER)
    # a card left on the reader holds the reminder until the replacement is up
    c.place_card(card.card)
    for _ in range(50):
        if "カードをお取りください。" in view.text:
            break
        view = world.robot.screen(after=view.seq, wait=1)
    assert "カードをお取りください。" in view.text
    world.printer.stop()
    replacement = VirtualPrinter(
        world.clock, world.evidence, tmp_path / "replacement", port=world.printer.port
    )
    replacement.start()
    try:
        c.remove_card()
        c.wait_for(ScreenId.CARD_HOLD)
        assert replacement.wait_idle(10)
        assert replacement.take_receipts() == []
        audit = (world.kiosk.state_dir / "audit.jsonl").read_text()
        assert '"receipt_skipped"' in audit
    finally:
        replacement.stop()

"""Forgotten certificates, receipts and change (取り忘れ注意画面 ⑭, 領収書印刷画面 ⑮).

Seed I.1 (2) 取り忘れ対策 and I.4.1 (8): the kiosk warns the customer to take what it printed.
The screen half is judged on the robot (⑭ and ⑮ texts, and that ⑭ holds while sheets wait in
the tray); the voice half is not observable through the robot protocol (no audio channel).
"""

from __future__ import annotations

import pytest

from rig.core.protocols.robot import ScreenId
from rig.harness.world import World
from scenarios.test_payment import LAYOUT, books, to_payment


def paid_and_printed(world: World, *money: int) -> None:
    to_payment(world, "resident_record", trait="household_of_1")
    world.customer.pay(*(money or (100, 100)))
    world.customer.wait_for(ScreenId.TAKE_REMINDER, timeout=30)


@pytest.mark.requirement("PRINT-008")
@LAYOUT
def test_take_reminder_holds_while_certificates_wait_in_the_tray(world: World) -> None:
    paid_and_printed(world, 500)
    view = world.robot.screen(wait=0.5)
    assert view.screen is ScreenId.TAKE_REMINDER
    assert "お取り忘れにご注意ください。" in view.text
    assert "証明書をお取りください。" in view.text
    assert "お釣りをお取りください。" in view.text, "change was paid: the customer is told"
    assert not world.printer.tray_empty()
    world.customer.wait(30)
    assert world.customer.sees().screen is ScreenId.TAKE_REMINDER, "still warning at 30 s"
    world.customer.take_certificates()
    view = world.customer.wait_for(ScreenId.RECEIPT)
    assert "領収書をお取りください。" in view.text
    books(world, 200)


@pytest.mark.requirement("PRINT-008", "PRIV-005", "PRIV-001")
@LAYOUT
def test_forgotten_certificates_and_receipt(world: World) -> None:
    """Nobody takes anything: ⑭ and ⑮ time out and the kiosk returns to ① with nothing
    of the customer on screen and nothing held."""
    paid_and_printed(world)
    world.customer.wait_out(ScreenId.TAKE_REMINDER)
    view = world.customer.wait_for(ScreenId.RECEIPT)
    assert "領収書をお取りください。" in view.text
    world.customer.wait_out(ScreenId.RECEIPT)
    view = world.customer.wait_for(ScreenId.CARD_HOLD)
    assert view.facts.get("fee_yen") is None and view.method is None
    assert world.robot.held().empty
    history = [e.screen for e in world.robot.history()]
    assert history[-3:] == [ScreenId.TAKE_REMINDER, ScreenId.RECEIPT, ScreenId.CARD_HOLD]


@pytest.mark.requirement("PRINT-008")
@LAYOUT
def test_forgotten_receipt_only(world: World) -> None:
    paid_and_printed(world)
    world.customer.take_certificates()
    view = world.customer.wait_for(ScreenId.RECEIPT)
    assert "領収書をお取りください。" in view.text
    world.robot.screen(after=view.seq, wait=0.5)
    assert world.customer.sees().screen is ScreenId.RECEIPT, "waits for the receipt to be taken"
    world.customer.wait_out(ScreenId.RECEIPT)
    world.customer.wait_for(ScreenId.CARD_HOLD)
    assert world.robot.held().empty
    books(world, 200)

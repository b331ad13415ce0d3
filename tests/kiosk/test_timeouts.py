"""Inactivity time-outs on every screen, on the rig clock: the scenario advances the clock and
the kiosk reacts (cancels, returns the money, asks for the card back, forgets everything)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from emulators.kiosk import DEFAULT_TIMEOUTS
from emulators.kiosk.audit import AuditLog
from emulators.kiosk.engine import KioskEngine
from emulators.kiosk.flow import KioskFlow
from emulators.kiosk.screens import guidance
from emulators.printer import Fault, FaultKind
from rig.core.clock import RigClock
from rig.core.protocols.robot import ScreenId
from rig.harness.kiosk_steps import authenticate, choose_through_to_confirmation
from rig.harness.world import World as KioskWorld

BEFORE_PAYMENT = [
    ScreenId.CARD_REMOVAL,
    ScreenId.CERTIFICATE_CHOICE,
    ScreenId.ISSUANCE_TYPE,
    ScreenId.HOUSEHOLD_SELECTION,
    ScreenId.ITEMS,
    ScreenId.COPIES,
    ScreenId.CONFIRMATION,
]


def _walk_to(world: KioskWorld, target: ScreenId) -> None:
    c = world.customer
    card = world.issue_card("mynumber-valid", world.resident(trait="household_of_3"))
    c.place_card(card.card)
    c.wait_for(ScreenId.PIN)
    if target is ScreenId.PIN:
        return
    c.enter_pin(card.pins["auth_pin"])
    c.wait_for(ScreenId.CARD_REMOVAL)
    if target is ScreenId.CARD_REMOVAL:
        return
    c.remove_card()
    view = c.wait_for(ScreenId.CERTIFICATE_CHOICE)
    if target is not ScreenId.CERTIFICATE_CHOICE:
        view = c.tap("resident_record")
        if target is not ScreenId.ISSUANCE_TYPE:
            c.tap("members")
            view = c.tap("next")
            assert view.screen is ScreenId.HOUSEHOLD_SELECTION
            if target is not ScreenId.HOUSEHOLD_SELECTION:
                member = next(o.id for o in view.options if o.id.startswith("member:"))
                c.tap(member)
                view = c.tap("next")
                while view.screen is not target:
                    view = c.tap("next")
    assert c.sees().screen is target


@pytest.mark.parametrize("screen", [ScreenId.PIN, *BEFORE_PAYMENT], ids=lambda s: s.value)
def test_timeout_before_payment(world: KioskWorld, screen: ScreenId) -> None:
    _walk_to(world, screen)
    limit = DEFAULT_TIMEOUTS[screen]
    world.customer.wait(limit - 1)
    assert world.customer.sees().screen is screen, "not before the time-out"
    world.customer.wait(1)
    view = world.customer.sees()
    assert view.screen is ScreenId.NOTICE and view.facts["code"] == "timeout"
    assert view.text[0] == guidance("timeout")
    card_on_reader = screen in (ScreenId.PIN, ScreenId.CARD_REMOVAL)
    assert ("カードをお取りください。" in view.text) is card_on_reader, "asks for the card back"
    assert world.robot.held().empty
    assert world.centre.open_sessions() == 0, "the centre session was closed"
    if card_on_reader:
        world.customer.remove_card()
    world.customer.wait(DEFAULT_TIMEOUTS[ScreenId.NOTICE])
    assert world.customer.sees().screen is ScreenId.CARD_HOLD


def test_activity_restarts_the_timeout(world: KioskWorld) -> None:
    _walk_to(world, ScreenId.PIN)
    limit = DEFAULT_TIMEOUTS[ScreenId.PIN]
    world.customer.wait(limit - 5)
    world.robot.keys("1")
    world.customer.wait(limit - 5)
    assert world.customer.sees().screen is ScreenId.PIN
    world.customer.wait(5)
    assert world.customer.sees().screen is ScreenId.NOTICE


def _to_payment(world: KioskWorld) -> None:
    card = world.issue_card("mynumber-valid", world.resident())
    authenticate(world, card)
    choose_through_to_confirmation(world, "resident_record")
    world.customer.begin_cash("timeout")
    world.customer.tap("apply")
    world.customer.wait_for(ScreenId.PAYMENT)


def test_payment_timeout_refunds_the_money(world: KioskWorld) -> None:
    _to_payment(world)
    c = world.customer
    c.pay(100, 50)
    view = c.wait_for(ScreenId.PAYMENT)
    for _ in range(100):
        if view.facts["paid_yen"] == 150:
            break
        view = world.robot.screen(after=view.seq, wait=1)
    assert view.facts["paid_yen"] == 150
    c.wait(DEFAULT_TIMEOUTS[ScreenId.PAYMENT])
    view = c.sees()
    assert view.screen is ScreenId.NOTICE and view.facts["code"] == "timeout"
    assert view.facts["refund_yen"] == 150
    change = sorted(item.yen for item in c.take_change())
    assert change == [50, 100]
    summary = world.cash.ledger.summary(world.cash.customer.session)
    assert summary.net_yen == 0 and summary.customer_owed_yen == 0
    assert world.centre.held_documents() == 0 and world.robot.held().empty


def test_print_stuck_times_out_refunds_and_is_not_counted(world: KioskWorld) -> None:
    world.printer.inject(Fault(FaultKind.JAM, sheets=1))
    _to_payment(world)
    c = world.customer
    c.pay(100, 100)
    view = c.wait_for(ScreenId.PRINTING)
    for _ in range(100):
        if view.facts.get("printer_problem"):
            break
        view = world.robot.screen(after=view.seq, wait=1)
    assert view.facts["printer_problem"] == "media-jam"
    c.wait(DEFAULT_TIMEOUTS[ScreenId.PRINTING])
    view = c.sees()
    assert view.screen is ScreenId.NOTICE and view.facts["code"] == "print_failed"
    assert view.facts["refund_yen"] == 200
    assert sum(item.yen for item in c.take_change()) == 200
    assert world.centre.settlement() == [] or all(
        int(r["copies"]) == 0 for r in world.centre.settlement()
    ), "a refunded issuance is not counted"
    assert world.centre.held_documents() == 0 and world.robot.held().empty


def test_forgotten_certificate_and_receipt(world: KioskWorld) -> None:
    _to_payment(world)
    c = world.customer
    c.pay(100, 100)
    view = c.wait_for(ScreenId.TAKE_REMINDER)
    assert "証明書をお取りください。" in view.text
    c.wait(DEFAULT_TIMEOUTS[ScreenId.TAKE_REMINDER])
    assert c.sees().screen is ScreenId.RECEIPT
    world.printer.wait_idle(10)
    c.wait(DEFAULT_TIMEOUTS[ScreenId.RECEIPT])
    assert c.sees().screen is ScreenId.CARD_HOLD
    forgotten = [e for e in world.kiosk.audit.entries() if e["event"] == "forgotten"]
    assert forgotten and forgotten[0]["items"] == ["certificate", "receipt"]
    assert world.robot.held().empty


class _RecordingFlow:
    """Just enough of a KioskFlow for the engine: it records the time-outs that reach it."""

    def __init__(self) -> None:
        self.seq = 0
        self.timeouts: list[int] = []

    def tick(self) -> None:
        pass

    def timeout(self, token: int) -> None:
        self.timeouts.append(token)


def test_a_timer_armed_before_a_reset_never_reaches_the_new_flow(tmp_path: Path) -> None:
    """After `POST /reset` the new flow counts its tokens from the start again: a time-out
    armed by the old flow with the same token must not abort the new flow's customer."""
    clock = RigClock()
    engine = KioskEngine(AuditLog(tmp_path / "audit.jsonl", clock))
    old, new = _RecordingFlow(), _RecordingFlow()
    engine.start(lambda: cast(KioskFlow, old))
    engine.arm_timeout(60, 1, clock)
    engine.stop()
    engine.start(lambda: cast(KioskFlow, new))
    engine.arm_timeout(90, 1, clock)
    try:
        clock.advance(61)
        engine.call(lambda flow: None)  # everything posted so far has run
        assert old.timeouts == [] and new.timeouts == []
        clock.advance(30)
        engine.call(lambda flow: None)
        assert new.timeouts == [1]
    finally:
        engine.stop()

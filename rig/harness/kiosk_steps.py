"""Steps of a customer walking through the seed's screens, for the kiosk tests and the scenarios."""

from __future__ import annotations

import time

from emulators.card import BuiltCard
from rig.core.protocols.robot import Method, ScreenId, ScreenView
from rig.core.steps import step
from rig.harness.world import World as KioskWorld


@step("authenticates with the card")
def authenticate(world: KioskWorld, card: BuiltCard) -> ScreenView:
    """Place the card, enter the PIN where the method asks for it, remove the card:
    returns the certificate choice screen (⑤ JPKI, ④ card AP)."""
    c = world.customer
    c.place_card(card.card)
    view = c.wait_for(ScreenId.PIN, ScreenId.CARD_REMOVAL, ScreenId.NOTICE)
    if view.screen is ScreenId.PIN:
        assert view.method is Method.JPKI
        c.enter_pin(card.pins["auth_pin"])
        view = c.wait_for(ScreenId.CARD_REMOVAL, ScreenId.NOTICE)
    assert view.screen is ScreenId.CARD_REMOVAL, view.text
    c.remove_card()
    view = c.wait_for(ScreenId.CERTIFICATE_CHOICE, ScreenId.NOTICE)
    assert view.screen is ScreenId.CERTIFICATE_CHOICE, view.text
    return view


@step("chooses {cert_type} ({copies} copies) through to the confirmation")
def choose_through_to_confirmation(
    world: KioskWorld, cert_type: str, *, variant: str | None = None, copies: int = 1,
    pin: str | None = None,
) -> ScreenView:  # fmt: skip
    """From the choice screen to ⑩, taking the defaults (card AP: PIN after the choice)."""
    c = world.customer
    view = c.tap(cert_type)
    if view.screen is ScreenId.PIN:
        assert pin is not None, "card AP asks for the PIN after the choice"
        c.enter_pin(pin)
        view = c.sees()
        assert view.screen is not ScreenId.NOTICE, view.text
    for _ in range(8):
        if view.screen is ScreenId.CONFIRMATION:
            return view
        if view.screen is ScreenId.ISSUANCE_TYPE and variant is not None:
            c.tap(variant)
        if view.screen is ScreenId.COPIES and copies != 1:
            c.type_number(copies)
        assert view.screen in (
            ScreenId.ISSUANCE_TYPE, ScreenId.HOUSEHOLD_SELECTION, ScreenId.ITEMS, ScreenId.COPIES,
        ), view  # fmt: skip
        view = c.tap("next")
    raise AssertionError(f"never reached the confirmation: {view}")


@step("applies and pays")
def apply_and_pay(world: KioskWorld, *money: int) -> ScreenView:
    """⑩ 申請 → ⑪ → ⑫, pay with `money` (exact fee when empty), wait for ⑭."""
    c = world.customer
    c.begin_cash("kiosk-test")
    c.tap("apply")
    view = c.wait_for(ScreenId.PAYMENT, ScreenId.NOTICE)
    assert view.screen is ScreenId.PAYMENT, view.text
    fee = int(view.facts["fee_yen"] or 0)
    c.pay(*(money or coins_for(fee)))
    return c.wait_for(ScreenId.TAKE_REMINDER, ScreenId.NOTICE, timeout=60)


def coins_for(fee: int) -> list[int]:
    out: list[int] = []
    for yen in (1000, 500, 100, 50, 10):
        while fee >= yen:
            out.append(yen)
            fee -= yen
    return out


@step("takes the certificates, the receipt and the change")
def take_everything(world: KioskWorld) -> ScreenView:
    """⑭ take the certificates → ⑮ take the receipt → back to ①."""
    c = world.customer
    c.take_certificates()
    c.wait_for(ScreenId.RECEIPT)
    # the receipt is printing: take it once it has landed in the tray
    deadline = time.monotonic() + 30
    while not c.take_receipt() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert c.receipts, "no receipt was printed"
    c.take_change()
    return c.wait_for(ScreenId.CARD_HOLD)

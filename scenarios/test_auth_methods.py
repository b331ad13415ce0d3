"""A municipality that offers one authentication method only (seed I.1 (4), II.1 (2)(4), II.3 (8)).

The card AP method needs the IC card standard system and a by-law on the card's free area, the
JPKI method needs neither (II.3 (8): 「JPKI 認証方法を用いてサービス提供を行う場合、IC カード
標準システム 基本システムサーバの構築は不要」), so a municipality may offer the JPKI method only;
the rig also keeps the reverse, a card-AP-only one. いずみ市 (992046) offers JPKI only, もりの村
(993069) card AP only. A card of the method the municipality does not offer is refused before
any fee, with a message: judged at the robot (the notice, its code and text, no payment screen)
and in the cash unit (money offered is not taken). The same municipalities issue normally with
the method they do offer.
"""

from __future__ import annotations

import pytest

from rig.core.protocols.robot import ScreenId
from rig.harness.kiosk_steps import apply_and_pay, authenticate, choose_through_to_confirmation
from rig.harness.world import CARD_AP_ONLY_VILLAGE, CARD_AP_PIN, JPKI_ONLY_CITY, World
from scenarios.test_kiosk_hours import refusal_before_fee
from scenarios.test_payment import LAYOUT


@pytest.mark.requirement("CARD-014", "PAY-008")
@LAYOUT
def test_a_jpki_only_municipality_refuses_a_card_ap_card_before_any_fee(world: World) -> None:
    world.customer.begin_cash("jpki-only")
    card = world.issue_card("juki-card-ap", world.resident(JPKI_ONLY_CITY), code=JPKI_ONLY_CITY)
    c = world.customer
    c.place_card(card.card)
    view = c.wait_for(ScreenId.NOTICE, ScreenId.CARD_REMOVAL, ScreenId.PIN)
    if view.screen is ScreenId.CARD_REMOVAL:
        c.remove_card()
        view = c.wait_for(ScreenId.NOTICE, ScreenId.CERTIFICATE_CHOICE)
    refusal_before_fee(world, view, {"auth_method_not_offered"})
    assert ScreenId.CERTIFICATE_CHOICE not in [e.screen for e in world.robot.history()]
    c.remove_card()


@pytest.mark.requirement("CARD-015", "PAY-008")
@LAYOUT
def test_a_card_ap_only_municipality_refuses_a_jpki_card_before_any_fee(world: World) -> None:
    world.customer.begin_cash("card-ap-only")
    card = world.issue_card(
        "mynumber-valid", world.resident(CARD_AP_ONLY_VILLAGE), code=CARD_AP_ONLY_VILLAGE
    )
    c = world.customer
    c.place_card(card.card)
    view = c.wait_for(ScreenId.PIN, ScreenId.NOTICE)
    if view.screen is ScreenId.PIN:
        c.enter_pin(card.pins["auth_pin"])
        view = c.wait_for(ScreenId.NOTICE, ScreenId.CARD_REMOVAL)
    if view.screen is ScreenId.CARD_REMOVAL:
        c.remove_card()
        view = c.wait_for(ScreenId.NOTICE, ScreenId.CERTIFICATE_CHOICE)
    refusal_before_fee(world, view, {"auth_method_not_offered"})
    assert ScreenId.CERTIFICATE_CHOICE not in [e.screen for e in world.robot.history()]
    c.remove_card()


@pytest.mark.requirement("CARD-014", "CARD-015")
@LAYOUT
@pytest.mark.parametrize(
    ("code", "profile"),
    [(JPKI_ONLY_CITY, "mynumber-valid"), (CARD_AP_ONLY_VILLAGE, "juki-card-ap")],
    ids=["jpki-only-with-jpki", "card-ap-only-with-card-ap"],
)
def test_the_method_offered_issues_normally(world: World, code: str, profile: str) -> None:
    card = world.issue_card(profile, world.resident(code), code=code)
    authenticate(world, card)
    choose_through_to_confirmation(world, "resident_record", pin=CARD_AP_PIN)
    view = apply_and_pay(world)
    assert view.screen is ScreenId.TAKE_REMINDER, view.text

"""PIN entry with the tries left shown, the lock, smartphones, and the card pulled out."""

from __future__ import annotations

from emulators.kiosk.screens import guidance
from rig.core.protocols.robot import Method, ScreenId
from rig.harness.kiosk_steps import authenticate
from rig.harness.world import CARD_AP_PIN
from rig.harness.world import World as KioskWorld


def test_wrong_pin_shows_tries_left_then_locks(world: KioskWorld) -> None:
    card = world.issue_card("mynumber-valid", world.resident())
    c = world.customer
    c.place_card(card.card)
    view = c.wait_for(ScreenId.PIN)
    assert view.facts["tries_left"] == 3 and "残り回数:3回" in view.text
    assert view.keypad is not None and view.keypad.kind == "pin"
    view = c.enter_pin("0000")
    assert view.screen is ScreenId.PIN and view.facts["tries_left"] == 2
    assert "暗証番号が違います。" in view.text
    view = c.enter_pin("0000")
    assert view.facts["tries_left"] == 1 and "次に間違えると暗証番号がロックされます。" in view.text
    view = c.enter_pin("0000")
    assert view.screen is ScreenId.NOTICE and view.facts["code"] == "card_pin_locked"
    assert view.text[0] == guidance("card_pin_locked")
    c.remove_card()
    c.tap("ok")
    # the lock is the card's: the next attempt is refused at once
    c.place_card(card.card)
    view = c.wait_for(ScreenId.NOTICE)
    assert view.facts["code"] == "card_pin_locked"


def test_pin_digits_never_reported(world: KioskWorld) -> None:
    card = world.issue_card("mynumber-one-try-left", world.resident())
    c = world.customer
    c.place_card(card.card)
    view = c.wait_for(ScreenId.PIN)
    assert view.facts["tries_left"] == 1
    view = world.robot.keys("12")
    assert view.keypad is not None and view.keypad.entered == 2
    ok = view.option("ok")
    assert ok is not None and not ok.enabled, "OK needs 4 digits"
    view = world.robot.keys("<")
    assert view.keypad is not None and view.keypad.entered == 1
    view = c.enter_pin(card.pins["auth_pin"][1:])  # completes the 4 digits
    assert view.screen is ScreenId.CARD_REMOVAL


def test_card_removed_during_pin_entry(world: KioskWorld) -> None:
    card = world.issue_card("mynumber-valid", world.resident())
    c = world.customer
    c.place_card(card.card)
    c.wait_for(ScreenId.PIN)
    c.remove_card()
    view = c.wait_for(ScreenId.NOTICE)
    assert view.facts["code"] == "card_removed"
    assert world.robot.held().empty
    assert world.centre.open_sessions() == 0


def test_iphone_needs_no_pin(world: KioskWorld) -> None:
    card = world.issue_card("smartphone-iphone", world.resident())
    view = authenticate(world, card)
    assert view.method is Method.JPKI
    assert ScreenId.PIN not in [e.screen for e in world.robot.history()]


def test_android_enters_its_pin(world: KioskWorld) -> None:
    card = world.issue_card("smartphone-android", world.resident())
    assert card.pins["auth_pin"] == "4321"
    view = authenticate(world, card)
    assert view.method is Method.JPKI


def test_card_ap_pin_after_choice_with_tries_and_lock(world: KioskWorld) -> None:
    card = world.issue_card("juki-card-ap", world.resident())
    view = authenticate(world, card)
    assert view.method is Method.CARD_AP and view.seed_number == "④"
    c = world.customer
    view = c.tap("resident_record")
    assert view.screen is ScreenId.PIN and view.seed_number == "⑤"
    view = c.enter_pin("0000")
    assert view.screen is ScreenId.PIN and view.facts["tries_left"] == 2
    view = c.enter_pin("0000")
    assert view.facts["tries_left"] == 1
    view = c.enter_pin("0000")
    assert view.screen is ScreenId.NOTICE and view.facts["code"] == "pin_locked"
    assert view.facts["source"] == "municipality"
    assert world.robot.held().empty


def test_card_ap_right_pin_continues(world: KioskWorld) -> None:
    card = world.issue_card("mynumber-card-ap", world.resident())
    c = world.customer
    c.tap("use_card_ap")  # the customer asks for the card application on ①
    view = authenticate(world, card)
    assert view.method is Method.CARD_AP
    c.tap("resident_record")
    view = c.enter_pin(CARD_AP_PIN)
    assert view.screen is ScreenId.ISSUANCE_TYPE and view.seed_number == "⑥"


def test_household_members_selected(world: KioskWorld) -> None:
    rid = world.resident(trait="household_of_3")
    card = world.issue_card("mynumber-valid", rid)
    authenticate(world, card)
    c = world.customer
    c.tap("resident_record")
    view = c.tap("members")
    view = c.tap("next")
    assert view.screen is ScreenId.HOUSEHOLD_SELECTION and view.seed_number == "⑦"
    members = [o for o in view.options if o.id.startswith("member:")]
    assert len(members) == 3
    nxt = view.option("next")
    assert nxt is not None and not nxt.enabled, "at least one person must be chosen"
    c.tap(members[0].id)
    view = c.tap("next")
    assert view.screen is ScreenId.ITEMS
    view = c.tap("include_honseki")
    assert next(o for o in view.options if o.id == "include_honseki").selected
    view = c.tap("next")
    view = c.tap("next")
    assert view.screen is ScreenId.CONFIRMATION
    assert "対象者:1名" in view.text and "本籍・筆頭者:記載する" in view.text

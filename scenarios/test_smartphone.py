"""Smartphones with the JPKI user certificate at the kiosk's reader (notes: JPKI user certificate).

Android carries the JPKI applet (token JPKIAPGPSETOKEN) with its own PIN; the iPhone's
certificate is unlocked by Face ID on the phone, so the kiosk must not ask for a PIN. Judged
at the screens, at the card trace (no VERIFY with a PIN for the iPhone) and by what the
centre and the municipality issued.
"""

from __future__ import annotations

from typing import Any

import pytest

from rig.core.protocols.robot import Method, ScreenId
from rig.harness.kiosk_steps import (
    apply_and_pay,
    authenticate,
    choose_through_to_confirmation,
    take_everything,
)
from rig.harness.world import World

pytestmark = pytest.mark.world(marks="layout", with_verification_site=False)

VERIFY = "00200080"


def transmitted(world: World) -> list[dict[str, Any]]:
    assert world.evidence is not None
    return [r for r in world.evidence.records("apdu") if r["event"] == "transmit"]


def pin_verifies(world: World) -> list[dict[str, Any]]:
    return [r for r in transmitted(world) if r["command"].startswith(VERIFY + "0")]


def issued_for(world: World) -> list[str]:
    assert world.evidence is not None
    return [r["resident_id"] for r in world.evidence.records("municipal") if r["event"] == "issued"]


@pytest.mark.requirement("CARD-009")
def test_android_issues_a_resident_record_like_a_card(world: World) -> None:
    rid = world.resident()
    phone = world.issue_card("smartphone-android", rid)
    view = authenticate(world, phone)
    assert view.method is Method.JPKI
    assert ScreenId.PIN in [e.screen for e in world.robot.history()]
    choose_through_to_confirmation(world, "resident_record")
    assert apply_and_pay(world).screen is ScreenId.TAKE_REMINDER
    take_everything(world)
    assert world.customer.certificates and issued_for(world) == [rid]
    assert len(pin_verifies(world)) == 1
    assert world.robot.held().empty


@pytest.mark.requirement("CARD-009")
def test_android_wants_the_phones_pin_not_a_cards(world: World) -> None:
    phone = world.issue_card("smartphone-android", world.resident())
    assert phone.pins["auth_pin"] != "1234"
    world.customer.place_card(phone.card)
    view = world.customer.wait_for(ScreenId.PIN)
    assert view.facts["tries_left"] == 3 and view.keypad is not None
    view = world.customer.enter_pin("1234")  # a card's default PIN is wrong for the phone
    assert view.screen is ScreenId.PIN and view.facts["tries_left"] == 2
    view = world.customer.enter_pin(phone.pins["auth_pin"])
    assert view.screen is ScreenId.CARD_REMOVAL and view.method is Method.JPKI


@pytest.mark.requirement("CARD-009", "CARD-007")
def test_android_locks_after_three_wrong_pins(world: World) -> None:
    phone = world.issue_card("smartphone-android", world.resident())
    world.customer.place_card(phone.card)
    world.customer.wait_for(ScreenId.PIN)
    for _ in range(3):
        view = world.customer.enter_pin("0000")
    assert view.screen is ScreenId.NOTICE and view.facts["code"] == "card_pin_locked"
    assert len(pin_verifies(world)) == 3
    assert world.robot.held().empty


@pytest.mark.requirement("CARD-010")
def test_iphone_issues_without_a_pin_screen(world: World) -> None:
    rid = world.resident()
    phone = world.issue_card("smartphone-iphone", rid)
    view = authenticate(world, phone)
    assert view.method is Method.JPKI and view.seed_number == "⑤"
    shown = [e.screen for e in world.robot.history()]
    assert ScreenId.PIN not in shown
    assert shown.index(ScreenId.CARD_WAIT) < shown.index(ScreenId.CARD_REMOVAL)
    assert pin_verifies(world) == [], "no PIN sent to the phone"
    signs = [r for r in transmitted(world) if r["command"].startswith("802a")]
    assert len(signs) == 1 and signs[0]["sw"] == "9000", "the phone signed the nonce"
    choose_through_to_confirmation(world, "resident_record")
    apply_and_pay(world)
    take_everything(world)
    assert issued_for(world) == [rid]


@pytest.mark.requirement("CARD-010")
def test_iphone_is_never_shown_a_keypad(world: World) -> None:
    phone = world.issue_card("smartphone-iphone", world.resident())
    world.customer.place_card(phone.card)
    view = world.customer.wait_for(ScreenId.CARD_REMOVAL, ScreenId.PIN, ScreenId.NOTICE)
    assert view.screen is ScreenId.CARD_REMOVAL and view.keypad is None
    assert all(e.screen is not ScreenId.PIN for e in world.robot.history())
    world.customer.remove_card()
    view = world.customer.wait_for(ScreenId.CERTIFICATE_CHOICE)
    assert view.keypad is None

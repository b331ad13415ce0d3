"""Every card profile at the kiosk's reader (seed I.1 (4), I.4.1 (1)–(3); docs/cards.md).

The kiosk is judged at the card (the reader-side APDU trace in the evidence: which
application and EF it selects, every VERIFY, PIN bytes masked), at its screens (the notice
code, the tries left, the removal screen) and at the centre (its own HTTP evidence: what
reached it at all).
"""

from __future__ import annotations

from typing import Any

import pytest

from rig.core.protocols.apdu import AID_JPKI
from rig.core.protocols.robot import Method, ScreenId, ScreenView
from rig.harness.kiosk_steps import authenticate, choose_through_to_confirmation
from rig.harness.world import World

pytestmark = pytest.mark.world(marks="layout", with_verification_site=False)

SELECT_JPKI = "00a4040c0a" + AID_JPKI.hex()
SELECT_EF = "00a4020c02"
VERIFY = "00200080"


def transmitted(world: World) -> list[dict[str, Any]]:
    """The commands the kiosk sent through its PC/SC reader, in order."""
    assert world.evidence is not None
    return [r for r in world.evidence.records("apdu") if r["event"] == "transmit"]


def pin_verifies(world: World) -> list[dict[str, Any]]:
    """VERIFY commands that carried a PIN (the empty status VERIFY excluded)."""
    return [r for r in transmitted(world) if r["command"].startswith(VERIFY + "0")]


def centre_paths(world: World) -> list[str]:
    assert world.evidence is not None
    return [r["path"] for r in world.evidence.records("centre-http") if r["event"] == "request"]


def place(world: World, profile: str, resident: str | None = "") -> tuple[Any, ScreenView]:
    """Place a card of `profile`; the first screen that needs the customer."""
    card = world.issue_card(profile, world.resident() if resident == "" else resident)
    world.customer.place_card(card.card, mute=card.mute)
    view = world.customer.wait_for(ScreenId.PIN, ScreenId.NOTICE, ScreenId.CARD_REMOVAL, timeout=15)
    return card, view


def assert_clean_refusal(world: World, view: ScreenView, code: str) -> None:
    assert view.screen is ScreenId.NOTICE, view.all_text
    assert view.facts["code"] == code
    assert view.text and view.text[0], "a message on screen"
    assert "カードをお取りください。" in view.text, "the card is still on the reader"
    assert world.robot.held().empty
    world.customer.remove_card()
    world.customer.tap("ok")
    assert world.customer.wait_for(ScreenId.CARD_HOLD).screen is ScreenId.CARD_HOLD


# -- CARD-001: the JPKI AP and the user certificate ------------------------------------------
@pytest.mark.requirement("CARD-001")
def test_my_number_card_selects_jpki_and_reads_the_user_certificate(world: World) -> None:
    card, view = place(world, "mynumber-valid")
    assert view.screen is ScreenId.PIN and view.method is Method.JPKI
    commands = [r["command"] for r in transmitted(world)]
    assert SELECT_JPKI in commands
    cert_select = commands.index(SELECT_EF + "000a")
    assert commands.index(SELECT_JPKI) < cert_select
    reads = [c for c in commands[cert_select:] if c.startswith("00b0")]
    assert reads, "the certificate EF was read"
    world.customer.enter_pin(card.pins["auth_pin"])
    world.customer.wait_for(ScreenId.CARD_REMOVAL)
    assert any(p.endswith("/auth/jpki") for p in centre_paths(world))


# -- CARD-003 and the other refusals at the card waiting screen ------------------------------
@pytest.mark.requirement("CARD-003")
@pytest.mark.parametrize(
    ("profile", "code"),
    [
        ("mynumber-no-jpki", "no_certificate"),
        ("card-ap-missing", "no_certificate"),
        ("mynumber-expired-cert", "certificate_expired"),
    ],
)
def test_unusable_card_refused_without_pin_or_centre(world: World, profile: str, code: str) -> None:
    _, view = place(world, profile)
    assert ScreenId.PIN not in [e.screen for e in world.robot.history()], "no PIN asked"
    assert pin_verifies(world) == []
    assert not any("/auth/" in p for p in centre_paths(world)), "nothing sent to the centre"
    assert_clean_refusal(world, view, code)


@pytest.mark.requirement("OCSP-002")
def test_revoked_certificate_is_refused_with_nothing_issued(world: World) -> None:
    card, view = place(world, "mynumber-revoked-cert")
    assert view.screen is ScreenId.PIN
    view = world.customer.enter_pin(card.pins["auth_pin"])
    view = world.customer.wait_for(ScreenId.NOTICE, ScreenId.CARD_REMOVAL)
    assert view.facts["source"] == "centre"
    assert view.facts.get("refund_yen") in (None, 0)
    assert_clean_refusal(world, view, "certificate_revoked")
    assert not any(p.endswith("/requests") for p in centre_paths(world))


# -- CARD-004: four digits, VERIFY only to EF 0018 ----------------------------------------------
@pytest.mark.requirement("CARD-004")
def test_pin_is_exactly_four_digits(world: World) -> None:
    card, view = place(world, "mynumber-valid")
    assert view.keypad is not None and view.keypad.length == 4
    view = world.robot.keys("123")
    ok = view.option("ok")
    assert ok is not None and not ok.enabled, "three digits cannot be confirmed"
    view = world.robot.keys("45")
    assert view.keypad is not None and view.keypad.entered == 4, "a fifth digit is not taken"
    assert pin_verifies(world) == [], "nothing sent to the card before 確定"
    world.robot.keys("C")
    view = world.customer.enter_pin(card.pins["auth_pin"])
    assert view.screen is ScreenId.CARD_REMOVAL
    verifies = pin_verifies(world)
    assert len(verifies) == 1 and verifies[0]["command"].startswith(VERIFY + "04")


@pytest.mark.requirement("CARD-004")
@pytest.mark.parametrize("profile", ["mynumber-valid", "smartphone-android"])
def test_verify_goes_only_to_the_authentication_pin(world: World, profile: str) -> None:
    card, _ = place(world, profile)
    world.customer.enter_pin("0000")  # one wrong try, then the right one
    world.customer.enter_pin(card.pins["auth_pin"])
    world.customer.wait_for(ScreenId.CARD_REMOVAL)
    application, ef = "", ""
    seen = 0
    for record in transmitted(world):
        command = record["command"]
        if command.startswith("00a404"):
            application, ef = command[10:], ""
        elif command.startswith("00a402"):
            ef = command[10:14]
        elif command.startswith(VERIFY):
            seen += 1
            assert (application, ef) == (AID_JPKI.hex(), "0018"), f"VERIFY to {ef} of {application}"
    assert seen >= 3 and len(pin_verifies(world)) == 2


# -- CARD-006, -007, -008: tries, the lock, the reset -----------------------------------------
@pytest.mark.requirement("CARD-006")
def test_wrong_pin_shows_the_tries_left_and_issues_nothing(world: World) -> None:
    card, view = place(world, "mynumber-valid")
    assert view.facts["tries_left"] == 3
    view = world.customer.enter_pin("0000")
    assert view.screen is ScreenId.PIN and view.facts["tries_left"] == 2
    assert "残り回数:2回" in view.text
    assert view.keypad is not None and view.keypad.entered == 0, "a fresh entry"
    assert not any(p.endswith("/auth/jpki") for p in centre_paths(world)), "nothing signed yet"
    view = world.customer.enter_pin(card.pins["auth_pin"])
    assert view.screen is ScreenId.CARD_REMOVAL


@pytest.mark.requirement("CARD-006")
def test_one_try_left_is_announced(world: World) -> None:
    _, view = place(world, "mynumber-one-try-left")
    assert view.screen is ScreenId.PIN and view.facts["tries_left"] == 1
    assert "残り回数:1回" in view.text
    assert any("ロック" in line for line in view.text), "a warning that the next miss locks"


@pytest.mark.requirement("CARD-007", "CARD-008")
def test_third_wrong_pin_locks_and_nothing_more_is_verified(world: World) -> None:
    card, view = place(world, "mynumber-valid")
    for _ in range(3):
        view = world.customer.enter_pin("9999")
    assert view.screen is ScreenId.NOTICE and view.facts["code"] == "card_pin_locked"
    assert "窓口" in view.text[0], "the user is sent to the municipal counter"
    assert len(pin_verifies(world)) == 3
    assert not any(p.endswith("/auth/jpki") for p in centre_paths(world))
    world.customer.remove_card()
    world.customer.tap("ok")
    world.customer.wait_for(ScreenId.CARD_HOLD)
    # the card's lock holds: even the right PIN is never tried again
    world.customer.place_card(card.card)
    view = world.customer.wait_for(ScreenId.NOTICE, ScreenId.PIN)
    assert view.screen is ScreenId.NOTICE and view.facts["code"] == "card_pin_locked"
    assert len(pin_verifies(world)) == 3, "no VERIFY with a PIN after the lock"


@pytest.mark.requirement("CARD-007")
def test_locked_card_refused_before_any_pin(world: World) -> None:
    _, view = place(world, "mynumber-pin-locked")
    assert pin_verifies(world) == []
    assert "窓口" in view.text[0]
    assert_clean_refusal(world, view, "card_pin_locked")


@pytest.mark.requirement("CARD-008")
def test_a_right_pin_resets_the_counter(world: World) -> None:
    card, view = place(world, "mynumber-valid")
    world.customer.enter_pin("0000")
    view = world.customer.enter_pin("0000")
    assert view.facts["tries_left"] == 1
    view = world.customer.enter_pin(card.pins["auth_pin"])
    assert view.screen is ScreenId.CARD_REMOVAL
    world.customer.remove_card()
    world.customer.wait_for(ScreenId.CERTIFICATE_CHOICE)
    world.customer.cancel()
    view = world.customer.wait_for(ScreenId.NOTICE, ScreenId.CARD_HOLD)
    if view.screen is ScreenId.NOTICE:
        world.customer.tap("ok")
    world.customer.wait_for(ScreenId.CARD_HOLD)
    world.customer.place_card(card.card)
    view = world.customer.wait_for(ScreenId.PIN)
    assert view.facts["tries_left"] == 3, "all tries back after the right PIN"


# -- CARD-011, INPUT-001: cards the kiosk cannot use or read -----------------------------------
@pytest.mark.requirement("CARD-011")
def test_face_authentication_card_refused_with_a_message(world: World) -> None:
    _, view = place(world, "mynumber-face-auth-only")
    assert ScreenId.PIN not in [e.screen for e in world.robot.history()]
    assert pin_verifies(world) == []
    assert "顔認証" in view.text[0]
    assert_clean_refusal(world, view, "face_auth_card")


@pytest.mark.requirement("INPUT-001")
@pytest.mark.parametrize("profile", ["mynumber-damaged-cert", "mute-card"])
def test_unreadable_card_ends_cleanly(world: World, profile: str) -> None:
    _, view = place(world, profile)
    assert_clean_refusal(world, view, "card_unreadable")
    assert not any("/auth/" in p for p in centre_paths(world))
    # the kiosk is whole: the next customer's card works
    _, view = place(world, "mynumber-valid")
    assert view.screen is ScreenId.PIN


# -- CARD-012: the card pulled out before authentication completes ----------------------------
@pytest.mark.requirement("CARD-012")
@pytest.mark.parametrize("digits", ["", "12"])
def test_card_removed_during_pin_entry_abandons_the_session(world: World, digits: str) -> None:
    _, view = place(world, "mynumber-valid")
    if digits:
        world.robot.keys(digits)
    world.customer.remove_card()
    view = world.customer.wait_for(ScreenId.NOTICE, ScreenId.CARD_HOLD)
    if view.screen is ScreenId.NOTICE:
        assert view.facts["code"] == "card_removed"
        world.customer.tap("ok")
    world.customer.wait_for(ScreenId.CARD_HOLD)
    assert pin_verifies(world) == []
    assert not any("/auth/" in p for p in centre_paths(world)), "no authentication sent"
    assert world.evidence is not None
    centre_events = [r["event"] for r in world.evidence.records("centre")]
    assert "authenticated" not in centre_events
    assert centre_events.count("session_opened") == centre_events.count("session_closed")
    assert world.robot.held().empty


# -- CARD-013: the card reminder ----------------------------------------------------------------
@pytest.mark.requirement("CARD-013")
@pytest.mark.parametrize("profile", ["mynumber-valid", "juki-card-ap"])
def test_card_removal_screen_reminds_and_holds_until_the_card_is_gone(
    world: World, profile: str
) -> None:
    card, view = place(world, profile)
    if view.screen is ScreenId.PIN:
        view = world.customer.enter_pin(card.pins["auth_pin"])
    assert view.screen is ScreenId.CARD_REMOVAL
    assert "カードをお取りください。" in view.text
    world.customer.wait(30)
    view = world.robot.screen(after=view.seq, wait=0.5)
    assert view.screen is ScreenId.CARD_REMOVAL
    assert not any(o.id == "resident_record" for o in view.options)
    with pytest.raises(Exception, match="option_unknown"):
        world.customer.tap("resident_record")
    world.customer.remove_card()
    assert (
        world.customer.wait_for(ScreenId.CERTIFICATE_CHOICE).screen is ScreenId.CERTIFICATE_CHOICE
    )


@pytest.mark.requirement("CARD-013")
def test_refusal_with_the_card_on_the_reader_reminds_to_take_it(world: World) -> None:
    _, view = place(world, "mynumber-no-jpki")
    assert view.screen is ScreenId.NOTICE and "カードをお取りください。" in view.text
    world.customer.remove_card()
    later = world.robot.screen(after=view.seq, wait=2)
    assert "カードをお取りください。" not in later.text, "the reminder goes with the card"


# -- INPUT-007: robot commands out of place ----------------------------------------------------
@pytest.mark.requirement("INPUT-007")
@pytest.mark.parametrize(
    ("where", "action", "code"),
    [
        ("card_hold", ("tap", "apply"), "option_unknown"),
        ("card_hold", ("keys", "1234"), "no_keypad"),
        ("pin", ("tap", "ok"), "option_disabled"),
        ("pin", ("tap", "resident_record"), "option_unknown"),
        ("certificate_choice", ("keys", "1"), "no_keypad"),
        ("confirmation", ("tap", "member:nobody"), "option_unknown"),
    ],
)
def test_out_of_place_robot_command_is_refused_and_the_screen_stays(
    world: World, where: str, action: tuple[str, str], code: str
) -> None:
    from rig.core.drivers.robot_client import RobotError

    card = world.issue_card("mynumber-valid", world.resident())
    if where == "pin":
        world.customer.place_card(card.card)
        world.customer.wait_for(ScreenId.PIN)
    elif where == "certificate_choice":
        authenticate(world, card)
    elif where == "confirmation":
        authenticate(world, card)
        choose_through_to_confirmation(world, "resident_record")
    before = world.robot.screen()
    assert before.screen.value == where
    kind, argument = action
    with pytest.raises(RobotError) as refused:
        world.robot.tap(argument) if kind == "tap" else world.robot.keys(argument)
    assert refused.value.code == code
    after = world.robot.screen()
    assert after.screen is before.screen and after.text == before.text
    assert after.keypad == before.keypad

"""Every refusal the kiosk can meet, with the specific guidance on screen and nothing kept.

Card-side refusals are the kiosk's own usability check (seed I.4.1 (1)); the others come
from the centre (JPKI status, hours, outages) or the municipality (resident rules), relayed
with their codes; the kiosk shows its guidance for each code.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from emulators.kiosk.screens import guidance
from rig.core.clock import JST
from rig.core.protocols.robot import Method, ScreenId, ScreenView
from rig.harness.kiosk_steps import authenticate
from rig.harness.world import CITY
from rig.harness.world import World as KioskWorld


def _refused(
    world: KioskWorld, profile: str, resident: str | None, pin: str | None = None
) -> ScreenView:
    card = world.issue_card(profile, resident)
    c = world.customer
    c.place_card(card.card, mute=card.mute)
    view = c.wait_for(ScreenId.PIN, ScreenId.NOTICE, ScreenId.CARD_REMOVAL)
    if view.screen is ScreenId.PIN:
        c.enter_pin(pin or card.pins.get("auth_pin", "1234"))
        view = c.wait_for(ScreenId.NOTICE, ScreenId.CARD_REMOVAL)
    return view


def _check_notice(world: KioskWorld, view: ScreenView, code: str) -> None:
    assert view.screen is ScreenId.NOTICE, view.text
    assert view.facts["code"] == code
    assert view.text[0] == guidance(code), "the specific guidance for this reason"
    assert "カードをお取りください。" in view.text, "the card is still on the reader"
    assert world.robot.held().empty, "nothing kept after a refusal"
    world.customer.remove_card()
    world.customer.tap("ok")
    view = world.customer.wait_for(ScreenId.CARD_HOLD)
    assert world.centre.held_documents() == 0


@pytest.mark.parametrize(
    ("profile", "code"),
    [
        ("mute-card", "card_unreadable"),
        ("mynumber-damaged-cert", "card_unreadable"),
        ("mynumber-no-jpki", "no_certificate"),
        ("card-ap-missing", "no_certificate"),
        ("mynumber-face-auth-only", "face_auth_card"),
        ("mynumber-expired-cert", "certificate_expired"),
        ("mynumber-pin-locked", "card_pin_locked"),
    ],
)
def test_card_usability_refusals(world: KioskWorld, profile: str, code: str) -> None:
    view = _refused(world, profile, world.resident())
    _check_notice(world, view, code)
    assert (
        not any(r.get("event") == "session_opened" for r in world.evidence.records("centre"))
        if world.evidence
        else True
    )


def test_revoked_certificate_refused_by_the_centre(world: KioskWorld) -> None:
    view = _refused(world, "mynumber-revoked-cert", world.resident())
    assert view.facts["source"] == "centre"
    _check_notice(world, view, "certificate_revoked")


def test_unregistered_card_refused(world: KioskWorld) -> None:
    view = _refused(world, "mynumber-valid", None)
    _check_notice(world, view, "jpki_holder_unregistered")


@pytest.mark.parametrize(
    ("trait", "code"),
    [
        ("dv_protected", "support_measure"),
        ("under_15", "under_15"),
        ("deceased", "resident_deceased"),
        ("moved_out", "not_a_resident"),
    ],
)
def test_municipal_refusals_at_authentication(world: KioskWorld, trait: str, code: str) -> None:
    view = _refused(world, "mynumber-valid", world.resident(trait=trait))
    assert view.facts["source"] == "municipality"
    _check_notice(world, view, code)


@pytest.mark.parametrize(
    ("trait", "cert_type", "code"),
    [
        ("no_seal", "seal_registration", "seal_not_registered"),
        ("seal_cancelled", "seal_registration", "seal_cancelled"),
        ("household_moving_out", "resident_record", "household_moving_out"),
        ("moved_in_today", "resident_record", "moved_in_today"),
        ("no_tax_record", "tax_certificate", "tax_record_not_found"),
    ],
)
def test_unavailable_certificates_shown_with_their_reason(
    world: KioskWorld, trait: str, cert_type: str, code: str
) -> None:
    card = world.issue_card("mynumber-valid", world.resident(trait=trait))
    view = authenticate(world, card)
    option = view.option(cert_type)
    assert option is not None and not option.enabled
    assert option.note == guidance(code)
    with pytest.raises(Exception, match="option_disabled"):
        world.customer.tap(cert_type)


def test_card_ap_type_refused_after_the_pin(world: KioskWorld) -> None:
    """Card AP shows the standard list before the PIN; the refusal comes after it."""
    card = world.issue_card("juki-card-ap", world.resident(trait="no_seal"))
    view = authenticate(world, card)
    assert view.method is Method.CARD_AP
    world.customer.tap("seal_registration")
    view = world.customer.enter_pin(card.pins["card_ap_pin"])
    _check_notice_without_card(world, view, "seal_not_registered")


def _check_notice_without_card(world: KioskWorld, view: ScreenView, code: str) -> None:
    assert view.screen is ScreenId.NOTICE, view.text
    assert view.facts["code"] == code and view.text[0] == guidance(code)
    assert world.robot.held().empty


def test_centre_closed_at_23(world: KioskWorld) -> None:
    world.clock.set(datetime(2026, 11, 24, 23, 0, 0, tzinfo=JST))
    view = _refused(world, "mynumber-valid", world.resident())
    _check_notice(world, view, "centre_closed")


def test_jpki_outage_refuses_jpki_but_not_card_ap(world: KioskWorld) -> None:
    now = world.clock.now()
    world.centre.faults.jpki_outage(now, now + timedelta(hours=1), "test outage")
    view = _refused(world, "mynumber-valid", world.resident())
    _check_notice(world, view, "jpki_unavailable")
    card = world.issue_card("juki-card-ap", world.resident(index=1))
    view = authenticate(world, card)
    assert view.method is Method.CARD_AP


def test_lgwan_outage(world: KioskWorld) -> None:
    now = world.clock.now()
    world.centre.faults.lgwan_outage(now, now + timedelta(hours=1), CITY)
    view = _refused(world, "mynumber-valid", world.resident())
    assert view.screen is ScreenId.NOTICE
    code = str(view.facts["code"])
    assert code == "lgwan_unavailable"
    _check_notice(world, view, code)

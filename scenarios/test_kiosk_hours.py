"""Service hours at the kiosk (seed II.7.1): the centre's 6:30–23:00 and year-end closure, and
each municipality's own hours, days and 戸籍 hours, as the customer meets them.

Judged on the robot (the notice and its reason), at the card reader (the APDUs the kiosk
sent: no PIN and no signature when closed) and in the cash unit (no money taken).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from rig.core.clock import JST
from rig.core.protocols.robot import ScreenId, ScreenView
from rig.harness.kiosk_steps import authenticate
from rig.harness.world import CITY, KOSEKI_TOWN, SMALL_TOWN, World
from scenarios.test_payment import LAYOUT, books, records

#: VERIFY with PIN data (CLA 00, INS 20, P2 80, Lc 04) and the two signing commands
#: (PSO COMPUTE DIGITAL SIGNATURE, INTERNAL AUTHENTICATE)
PIN_VERIFY, SIGN, INTERNAL_AUTH = "0020008004", "002a9e9a", "00880000"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


def money_refused(world: World) -> None:
    """Cash offered on the notice is not taken."""
    assert not world.customer.insert_bill(1000).taken
    assert not world.customer.insert_coin(100).taken
    books(world, 0)


def screens_seen(world: World) -> list[ScreenId]:
    return [e.screen for e in world.robot.history()]


@pytest.mark.requirement("HOURS-003", "PAY-008")
@LAYOUT
@pytest.mark.parametrize(
    "when", ["2026-11-25T23:30:00", "2026-11-26T06:29:59", "2026-12-30T12:00:00"],
    ids=["after-23", "before-0630", "year-end"],
)  # fmt: skip
def test_centre_closed_no_card_read_for_issuance_no_money(world: World, when: str) -> None:
    world.clock.set(at(when))
    world.customer.begin_cash("closed")
    card = world.issue_card("mynumber-valid", world.resident(CITY, "household_of_1"))
    world.customer.place_card(card.card)
    view = world.customer.wait_for(ScreenId.NOTICE, ScreenId.PIN, ScreenId.CARD_REMOVAL)
    assert view.screen is ScreenId.NOTICE, "closed: no PIN asked"
    assert view.facts["code"] == "centre_closed"
    assert any("時間外" in line or "年末年始" in line for line in view.text), view.text
    commands = [str(r["command"]).lower() for r in records(world, "apdu", "transmit")]
    assert not [c for c in commands if c.startswith((PIN_VERIFY, SIGN, INTERNAL_AUTH))]
    money_refused(world)
    assert ScreenId.PAYMENT not in screens_seen(world)
    world.customer.remove_card()


def refusal_before_fee(world: World, view: ScreenView, codes: set[str]) -> None:
    assert view.screen is ScreenId.NOTICE, view
    assert view.facts["code"] in codes and view.facts["source"] == "municipality"
    assert view.text and view.text[0], "a specific message"
    assert ScreenId.PAYMENT not in screens_seen(world)
    money_refused(world)


@pytest.mark.requirement("HOURS-010", "PAY-008")
@LAYOUT
@pytest.mark.parametrize(
    ("when", "codes"),
    [
        ("2026-11-26T21:30:00", {"outside_service_hours"}),
        ("2026-11-27T06:45:00", {"outside_service_hours"}),
        ("2026-11-29T10:00:00", {"closed_day"}),
        ("2026-11-25T18:00:00", {"maintenance"}),
    ],
    ids=["after-2100", "before-0700", "sunday", "wednesday-maintenance"],
)
def test_small_town_hours_refused_with_reason_before_any_fee(
    world: World, when: str, codes: set[str]
) -> None:
    """やまなみ町: 07:00–21:00, closed on Sundays, maintenance Wednesday 17:30 → 09:00."""
    world.clock.set(at(when))
    world.customer.begin_cash("town")
    card = world.issue_card(
        "mynumber-valid", world.resident(SMALL_TOWN, "household_of_1"), code=SMALL_TOWN
    )
    c = world.customer
    c.place_card(card.card)
    view = c.wait_for(ScreenId.PIN, ScreenId.NOTICE)
    if view.screen is ScreenId.PIN:
        c.enter_pin(card.pins["auth_pin"])
        view = c.wait_for(ScreenId.CARD_REMOVAL, ScreenId.NOTICE)
    c.remove_card()
    if view.screen is ScreenId.CARD_REMOVAL:
        view = c.wait_for(ScreenId.CERTIFICATE_CHOICE, ScreenId.NOTICE)
    refusal_before_fee(world, view, codes)


@pytest.mark.requirement("HOURS-010")
@LAYOUT
def test_koseki_outside_its_hours_named_before_any_fee(world: World) -> None:
    """かわべ町 issues 戸籍 on weekdays 09:00–17:00 only; its 住民票 stays available."""
    world.clock.set(at("2026-11-24T18:00:00"))
    world.customer.begin_cash("koseki")
    card = world.issue_card(
        "mynumber-valid", world.resident(KOSEKI_TOWN, "koseki_here"), code=KOSEKI_TOWN
    )
    view = authenticate(world, card)
    koseki = view.option("koseki")
    assert koseki is not None
    if koseki.enabled:
        view = world.customer.tap("koseki")
        refusal_before_fee(world, view, {"koseki_outside_hours"})
    else:
        assert koseki.note and "時間外" in koseki.note, koseki
        record = view.option("resident_record")
        assert record is not None and record.enabled
        money_refused(world)

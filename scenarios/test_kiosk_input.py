"""What the kiosk does with bad or unexpected input from its devices and the centre.

INPUT-004: every printer state reason and job outcome the virtual printer can produce
(toner low, cover open, paper out and jam mid-job, offline) ends in a retry or a clean
cancel, never a hang. INPUT-008: the centre answering something other than the document at
申請 (a refusal, an outage) ends the issuance cleanly: no fee taken, nothing printed.

Not here: INPUT-002 / INPUT-003 (corrupt ID-003 and ccTalk frames): the cash emulator has no
fault that corrupts the frames it sends to the kiosk, so they cannot be verified yet.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from emulators.printer import Fault, FaultKind
from rig.core.protocols.robot import ScreenId
from rig.harness.world import CITY, World
from scenarios.test_payment import (
    LAYOUT,
    books,
    finish,
    nothing_printed,
    print_jobs,
    records,
    to_confirmation,
    to_payment,
    wait_view,
)


@pytest.mark.requirement("INPUT-004")
@LAYOUT
def test_toner_low_is_only_a_warning(world: World) -> None:
    world.printer.inject(Fault(FaultKind.TONER_LOW))
    to_payment(world, "resident_record", trait="household_of_1")
    world.customer.pay(100, 100)
    view = world.customer.wait_for(ScreenId.TAKE_REMINDER, ScreenId.NOTICE, timeout=30)
    assert view.screen is ScreenId.TAKE_REMINDER, view.text
    finish(world)
    assert world.customer.certificates
    books(world, 200)


@pytest.mark.requirement("INPUT-004", "PRINT-005")
@LAYOUT
@pytest.mark.parametrize(
    "fault",
    [
        Fault(FaultKind.PAPER_OUT, sheets=1),
        Fault(FaultKind.JAM, sheets=2),
        Fault(FaultKind.DOOR_OPEN),
    ],
    ids=["paper-out-after-1", "jam-on-2", "door-open"],
)
def test_stopped_mid_job_resumes_when_fixed_in_time(world: World, fault: Fault) -> None:
    """A 3-page household (2 sheets) stops; staff fix the printer within the kiosk's print
    time-out; the customer gets the whole document, each page once."""
    to_payment(world, "resident_record", trait="household_of_8")
    world.printer.inject(fault)
    world.customer.pay(100, 100)
    view = wait_view(world, lambda v: bool(v.facts.get("printer_problem")))
    assert view.screen is ScreenId.PRINTING
    world.customer.wait(60)
    assert world.customer.sees().screen is ScreenId.PRINTING
    world.printer.faults.refill()
    world.printer.faults.clear_jam()
    world.printer.faults.close_door()
    finish(world)
    fronts = [s.front.page_number for s in world.customer.certificates]
    backs = [
        s.back.page_number
        for s in world.customer.certificates
        if s.back and not s.back.measure.blank
    ]
    issued = records(world, "municipal", "issued")
    assert sorted(fronts + backs) == list(range(1, int(issued[0]["pages"]) + 1))
    books(world, 200)


@pytest.mark.requirement("INPUT-004", "PAY-010")
@LAYOUT
def test_printer_offline_mid_job_ends_with_a_refund(world: World) -> None:
    to_payment(world, "resident_record", trait="household_of_8")
    world.printer.inject(Fault(FaultKind.PAPER_OUT, sheets=1))
    world.customer.pay(100, 100)
    wait_view(world, lambda v: bool(v.facts.get("printer_problem")))
    world.printer.inject(Fault(FaultKind.OFFLINE))
    world.customer.wait_out(ScreenId.PRINTING)
    view = world.customer.wait_for(ScreenId.NOTICE, timeout=30)
    assert view.facts["code"] == "print_failed" and view.facts["refund_yen"] == 200
    books(world, 0)


@pytest.mark.requirement("INPUT-008", "PAY-008")
@LAYOUT
@pytest.mark.parametrize("outage", ["lgwan", "centre-maintenance"])
def test_centre_refuses_at_application_no_fee_nothing_printed(world: World, outage: str) -> None:
    to_confirmation(world, "resident_record", trait="household_of_1")
    now = world.clock.now()
    if outage == "lgwan":
        world.centre.faults.lgwan_outage(now, now + timedelta(hours=1), CITY)
    else:
        world.centre.faults.maintenance(now, now + timedelta(hours=1))
    world.customer.begin_cash("refused")
    world.customer.tap("apply")
    view = world.customer.wait_for(ScreenId.NOTICE, ScreenId.PAYMENT, timeout=30)
    assert view.screen is ScreenId.NOTICE, "no payment for an application the centre refused"
    assert view.facts["code"] and view.facts["source"] in ("centre", "municipality", "kiosk")
    assert view.facts.get("refund_yen") in (None, 0)
    assert not world.customer.insert_coin(100).taken
    books(world, 0)
    nothing_printed(world)
    assert world.robot.held().empty
    assert print_jobs(world) == []

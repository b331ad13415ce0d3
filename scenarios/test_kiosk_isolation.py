"""Isolation between applicants at one kiosk (the 横浜市 and 宗像市 incidents; notes: Incidents).

Whose sheet is whose is judged at the printer: every captured sheet names the IPP job it came
from, and the printer's evidence lists the jobs in the order the kiosk sent them. Also here:
a restart of the reference kiosk in the middle of a transaction (OPS-010).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from emulators.printer import Fault, FaultKind
from rig.core.protocols.robot import ScreenId
from rig.harness.kiosk_inspect import kiosk_events
from rig.harness.kiosk_reconfigure import restart_application
from rig.harness.kiosk_steps import choose_through_to_confirmation
from rig.harness.world import CITY, World
from scenarios.test_payment import (
    LAYOUT,
    books,
    finish,
    print_jobs,
    records,
    to_payment,
    wait_paid,
    wait_view,
)


def sheets_of(world: World, job_id: int) -> int:
    """Sheets the printer delivered for one job so far."""
    return len([s for s in records(world, "printer-print", "sheet") if s["job_id"] == job_id])


def last_job_is_last_served(world: World) -> None:
    """The last certificate job carries the document the centre served last, byte for byte:
    a new job id is not enough (the 宗像市 class prints an earlier applicant's document)."""
    served = records(world, "centre", "issued")[-1]["sha256"]
    job_id = print_jobs(world)[-1]["job_id"]
    ended = [r for r in records(world, "printer-print", "job-ended") if r["job_id"] == job_id]
    assert ended and ended[-1]["document_sha256"] == served, "B's job is B's document"


def second_applicant(world: World) -> list[Any]:
    """Another resident's whole issuance; returns the sheets that customer took.

    A kiosk may refuse to serve while an earlier applicant's sheets wait in the tray: staff
    then clear the tray (those sheets must all come from jobs before this applicant's) and
    the applicant tries again. Either way the applicant is finally served.
    """
    before = len(world.customer.certificates)
    jobs_before = {j["job_id"] for j in print_jobs(world)}
    card = world.issue_card("mynumber-valid", world.resident(CITY, "household_of_1", 1))
    c = world.customer
    c.place_card(card.card)
    view = c.wait_for(ScreenId.PIN, ScreenId.NOTICE)
    if view.screen is ScreenId.NOTICE:
        assert view.facts["code"] == "tray_not_empty", view.text
        assert world.robot.held().empty
        cleared = world.printer.take_sheets()  # staff collect what was left behind
        world.printer.take_receipts()
        assert all(s.job_id in jobs_before for s in cleared)
        c.remove_card()
        c.tap("ok")
        c.wait_for(ScreenId.CARD_HOLD)
        c.place_card(card.card)
        c.wait_for(ScreenId.PIN)
    c.enter_pin(card.pins["auth_pin"])
    c.wait_for(ScreenId.CARD_REMOVAL)
    c.remove_card()
    c.wait_for(ScreenId.CERTIFICATE_CHOICE)
    choose_through_to_confirmation(world, "resident_record")
    c.begin_cash(f"second-applicant-{time.monotonic_ns()}")
    c.tap("apply")
    c.wait_for(ScreenId.PAYMENT)
    c.pay(100, 100)
    finish(world)
    last_job_is_last_served(world)
    return list(world.customer.certificates[before:])


def restart_kiosk(world: World) -> None:
    """Stop the reference kiosk and start a new one on the same state folder and devices; an
    external kiosk restarts its application through the configuration extension."""
    if world.reference_kiosk is None:
        restart_application(world.customer)
        return
    world.restart_reference_kiosk()


@pytest.mark.requirement("ISO-001", "ISO-004", "PRINT-007")
@LAYOUT
@pytest.mark.parametrize(
    "fault",
    [
        Fault(FaultKind.PAPER_OUT, sheets=0),
        Fault(FaultKind.JAM, sheets=1),
        Fault(FaultKind.DOOR_OPEN),
    ],
    ids=["paper-out", "jam", "door-open"],
)
def test_print_wait_time_out_cancels_the_whole_issuance(world: World, fault: Fault) -> None:
    """The 横浜市 class: A's print wait times out; the printer is fixed; B gets only B's."""
    to_payment(world, "resident_record", trait="household_of_1", index=0)
    world.printer.inject(fault)
    world.customer.pay(100, 100)
    wait_view(world, lambda v: bool(v.facts.get("printer_problem")))
    world.customer.wait_out(ScreenId.PRINTING)
    assert world.customer.wait_for(ScreenId.NOTICE).facts["code"] == "print_failed"
    books(world, 0)
    first_job = print_jobs(world)[0]["job_id"]
    printed_for_a = sheets_of(world, first_job)
    world.printer.faults.refill()
    world.printer.faults.clear_jam()
    world.printer.faults.close_door()
    world.customer.tap("ok")
    world.customer.remove_card()
    world.customer.wait_for(ScreenId.CARD_HOLD)
    taken = second_applicant(world)
    assert sheets_of(world, first_job) == printed_for_a, "A's job was given up: no more of it"
    jobs = [j["job_id"] for j in print_jobs(world)]
    assert len(jobs) == 2
    assert taken and all(s.job_id == jobs[1] for s in taken), "B gets only B's job"
    assert not [s for s in taken if s.job_id == first_job], "none of A's document reaches B"
    books(world, 200)


@pytest.mark.requirement("ISO-004")
@LAYOUT
def test_sheets_left_behind_never_reach_the_next_applicant(world: World) -> None:
    """A walks away from the tray; B must never be handed A's sheets with B's own."""
    to_payment(world, "resident_record", trait="household_of_1", index=0)
    world.customer.pay(100, 100)
    world.customer.wait_for(ScreenId.TAKE_REMINDER)
    world.customer.wait_out(ScreenId.TAKE_REMINDER)
    world.customer.wait_for(ScreenId.RECEIPT)
    world.customer.wait_out(ScreenId.RECEIPT)
    world.customer.wait_for(ScreenId.CARD_HOLD)
    first_job = print_jobs(world)[0]["job_id"]
    taken = second_applicant(world)
    assert taken, "B got a certificate"
    leaked = [s.serial for s in taken if s.job_id == first_job]
    assert not leaked, f"A's forgotten sheets {leaked} were handed to B with B's own"


@pytest.mark.requirement("ISO-004", "PAY-010", "INPUT-004")
@LAYOUT
def test_job_from_a_failed_session_is_not_printed_later(world: World) -> None:
    """The printer drops off mid-job; A is refunded; when it comes back nothing of A's
    prints, and B's job prints only B's pages."""
    to_payment(world, "resident_record", trait="household_of_1", index=0)
    world.printer.inject(Fault(FaultKind.PAPER_OUT, sheets=0))
    world.customer.pay(100, 100)
    wait_view(world, lambda v: bool(v.facts.get("printer_problem")))
    world.printer.inject(Fault(FaultKind.OFFLINE))
    world.customer.wait_out(ScreenId.PRINTING)
    view = world.customer.wait_for(ScreenId.NOTICE, timeout=30)
    assert view.facts["code"] == "print_failed" and view.facts["refund_yen"] == 200
    world.printer.faults.go_online()
    world.printer.faults.refill()
    world.customer.tap("ok")
    world.customer.remove_card()
    world.customer.wait_for(ScreenId.CARD_HOLD)
    first_job = print_jobs(world)[0]["job_id"]
    taken = second_applicant(world)
    assert taken and all(s.job_id != first_job for s in taken)
    assert world.printer.tray_empty()


@pytest.mark.kiosk_config("application")
@pytest.mark.requirement("OPS-010", "PRIV-002")
@LAYOUT
def test_restart_during_payment(world: World) -> None:
    """The kiosk restarts after 100 yen of 200: afterwards it holds no certificate data, its
    state folder has none, the money books reconcile and the centre holds no document."""
    to_payment(world, "resident_record", trait="household_of_1")
    world.customer.pay(100)
    wait_paid(world, 100)
    restart_kiosk(world)
    view = world.customer.wait_for(ScreenId.CARD_HOLD, ScreenId.NOTICE)
    assert view.facts.get("fee_yen") is None
    held = world.robot.held()
    assert held.documents == 0 and held.document_bytes == 0 and held.files == []
    if world.reference_kiosk is not None:  # its spool folder; an external kiosk's is in /held
        assert not any(p.is_file() for p in (world.kiosk.spool_dir).rglob("*"))
    assert world.cash.reconcile().ok
    world.customer.take_change()
    owed = world.cash.ledger.summary(world.cash.customer.session).customer_owed_yen
    # the kiosk's own record of money it kept is in its event log: the reference kiosk's, or
    # an external kiosk's that declares the event-log extension
    if owed and (world.reference_kiosk is not None or world.customer.extensions().has_events):
        # not refunded: then the kiosk must still know it took the money
        amounts = [
            r.get("paid_yen") or r.get("credit_yen") or r.get("unpaid_yen")
            for r in kiosk_events(world)
        ]
        assert owed in amounts, f"{owed} yen taken before the restart is in no kiosk record"
    assert print_jobs(world) == [], "nothing printed for an unpaid issuance"
    # the next customer is served normally after the restart
    world.customer.remove_card()
    taken = second_applicant(world)
    assert taken and world.robot.held().empty


@pytest.mark.kiosk_config("application")
@pytest.mark.kiosk_inspect("events")
@pytest.mark.requirement("OPS-010", "ISO-004")
@LAYOUT
def test_restart_during_printing(world: World) -> None:
    """Restart while a paid print is stopped (paper out): after the restart the kiosk holds
    nothing, the books still show the fee taken and reconcile, and the kiosk's own event log
    still records the payment."""
    to_payment(world, "resident_record", trait="household_of_1")
    world.printer.inject(Fault(FaultKind.PAPER_OUT, sheets=0))
    world.customer.pay(100, 100)
    wait_view(world, lambda v: bool(v.facts.get("printer_problem")))
    restart_kiosk(world)
    held = world.robot.held()
    assert held.documents == 0 and held.files == [] and not held.open_session
    assert world.cash.reconcile().ok
    summary = world.cash.ledger.summary(world.cash.customer.session)
    assert summary.in_yen == 200, "the record of the money taken survives the restart"
    paid = [r for r in kiosk_events(world) if r["event"] == "paid"]
    assert paid and paid[-1]["fee_yen"] == 200

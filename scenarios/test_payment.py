"""Fees and cash at the kiosk (料金支払い画面 ⑫; seed I.4.1 (7), II.7.4; DESIGN.md: Principles).

The kiosk under test is judged by what crosses its interfaces: the fee on ⑩ and ⑫ (robot),
the money in the cash unit's tray, slot and books (ID-003 / ccTalk side), the sheets in the
printer's tray and the jobs it received (IPP side), and the centre's settlement rows.

The helpers at the top are shared by the other kiosk scenario modules (test_printing,
test_forgotten_items, test_kiosk_privacy, test_kiosk_isolation, test_kiosk_input,
test_kiosk_hours).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from rig.core.protocols.robot import ScreenId, ScreenView
from rig.harness.kiosk_steps import authenticate, choose_through_to_confirmation, coins_for
from rig.harness.world import CITY, KOSEKI_TOWN, SMALL_TOWN, World

#: The scenarios that need no anti-forgery marks use the centre's faster layout stage.
LAYOUT = pytest.mark.world(marks="layout", with_verification_site=False)


# == shared steps ============================================================================
def records(world: World, channel: str, event: str | None = None) -> list[dict[str, Any]]:
    """What a party recorded on `channel` (what crossed its interface), optionally one event."""
    assert world.evidence is not None, "scenarios run with an evidence store"
    return [r for r in world.evidence.records(channel) if event is None or r["event"] == event]


def print_jobs(world: World) -> list[dict[str, Any]]:
    """Certificate print jobs the printer received (IPP Print-Job / Create-Job)."""
    return records(world, "printer-print", "job-created")


def wait_view(
    world: World, until: Callable[[ScreenView], bool], timeout: float = 15.0
) -> ScreenView:
    """Long-poll the kiosk's screen until `until(view)` holds."""
    deadline = time.monotonic() + timeout
    view = world.robot.screen()
    while not until(view):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"condition never met; the kiosk shows {view}")
        view = world.robot.screen(after=view.seq, wait=min(remaining, 2.0))
    return view


def wait_paid(world: World, yen: int) -> ScreenView:
    """Until ⑫ shows `yen` counted."""
    return wait_view(world, lambda v: v.screen is ScreenId.PAYMENT and v.facts["paid_yen"] == yen)


def to_confirmation(
    world: World,
    cert_type: str = "resident_record",
    *,
    trait: str = "eligible",
    code: str = CITY,
    copies: int = 1,
    variant: str | None = None,
    profile: str = "mynumber-valid",
    index: int = 0,
) -> ScreenView:
    """A resident of `code` with `trait` authenticates with a new card and chooses up to ⑩."""
    card = world.issue_card(profile, world.resident(code, trait, index), code=code)
    authenticate(world, card)
    return choose_through_to_confirmation(world, cert_type, variant=variant, copies=copies)


def to_payment(world: World, cert_type: str = "resident_record", **choice: Any) -> ScreenView:
    """Up to ⑫ (a new cash transaction in the cash unit's books); returns the ⑫ view."""
    to_confirmation(world, cert_type, **choice)
    world.customer.begin_cash(f"{cert_type}-{time.monotonic_ns()}")
    world.customer.tap("apply")
    view = world.customer.wait_for(ScreenId.PAYMENT, ScreenId.NOTICE)
    assert view.screen is ScreenId.PAYMENT, view.text
    return view


def finish(world: World) -> None:
    """⑭ take the certificates → ⑮ take the receipt and the change → ①."""
    c = world.customer
    c.wait_for(ScreenId.TAKE_REMINDER, timeout=30)
    c.take_certificates()
    c.wait_for(ScreenId.RECEIPT)
    deadline = time.monotonic() + 20
    while not c.take_receipt() and time.monotonic() < deadline:
        time.sleep(0.02)
    c.take_change()
    c.wait_for(ScreenId.CARD_HOLD)


def books(world: World, kept: int) -> None:
    """The cash unit's books for this transaction: the kiosk kept `kept`, the customer holds
    the rest, and the ledger reconciles."""
    world.customer.take_change()
    summary = world.cash.ledger.summary(world.cash.customer.session)
    assert summary.net_yen == kept, summary
    assert summary.customer_owed_yen == 0, summary
    report = world.cash.reconcile()
    assert report.ok, report.problems


def nothing_printed(world: World) -> None:
    assert print_jobs(world) == [], "no certificate job may reach the printer"
    assert world.printer.tray_empty()


# == fees =====================================================================================
FEES = [
    pytest.param(CITY, "resident_record", None, "eligible", 200, id="minato-juminhyo-200"),
    pytest.param(CITY, "koseki", "full", "koseki_here", 350, id="minato-koseki-350"),
    pytest.param(SMALL_TOWN, "resident_record", None, "eligible", 150, id="yamanami-juminhyo-150"),
    pytest.param(SMALL_TOWN, "koseki", "full", "koseki_here", 300, id="yamanami-koseki-300"),
    pytest.param(KOSEKI_TOWN, "seal_registration", None, "seal_registered", 300, id="kawabe-seal"),
    pytest.param(KOSEKI_TOWN, "koseki", "full", "koseki_here", 450, id="kawabe-koseki-450"),
]  # fmt: skip


@pytest.mark.requirement("PAY-001", "PAY-002", "PAY-003", "PAY-013")
@LAYOUT
@pytest.mark.parametrize(("code", "cert_type", "variant", "trait", "fee"), FEES)
def test_fee_is_the_municipality_kiosk_fee(
    world: World, code: str, cert_type: str, variant: str | None, trait: str, fee: int
) -> None:
    """⑩ and ⑫ show the municipality's kiosk fee; exactly that is kept and settled."""
    view = to_confirmation(world, cert_type, trait=trait, code=code, variant=variant)
    assert view.facts["fee_yen"] == fee
    world.customer.begin_cash("fee")
    world.customer.tap("apply")
    view = world.customer.wait_for(ScreenId.PAYMENT)
    assert view.facts["fee_yen"] == fee
    world.customer.pay(*coins_for(fee))
    finish(world)
    books(world, fee)
    rows = world.centre.settlement(municipality=code)
    assert [(int(r["copies"]), int(r["fees"])) for r in rows] == [(1, fee)]


@pytest.mark.requirement("PAY-002", "PAY-013")
@pytest.mark.smoke
@LAYOUT
@pytest.mark.parametrize("copies", [3])
def test_copies_times_fee_on_confirmation_payment_and_books(world: World, copies: int) -> None:
    view = to_confirmation(world, "resident_record", trait="household_of_1", copies=copies)
    assert view.facts["copies"] == copies and view.facts["fee_yen"] == 200 * copies
    assert f"手数料:{200 * copies}円" in view.text
    world.customer.begin_cash("copies")
    world.customer.tap("apply")
    view = world.customer.wait_for(ScreenId.PAYMENT)
    assert view.facts["fee_yen"] == 200 * copies
    world.customer.pay(1000)
    view = world.customer.wait_for(ScreenId.TAKE_REMINDER)
    assert view.facts["change_yen"] == 1000 - 200 * copies
    finish(world)
    books(world, 200 * copies)
    rows = world.centre.settlement(municipality=CITY)
    assert sum(int(r["fees"]) for r in rows) == 200 * copies


@pytest.mark.requirement("PAY-002", "PAY-007")
@LAYOUT
def test_ten_copies_fee_then_cancel(world: World) -> None:
    """The largest order: 10 × 200 yen on ⑩ and ⑫; cancelled after 1,000 yen, all of it back."""
    view = to_confirmation(world, "resident_record", trait="household_of_1", copies=10)
    assert view.facts["fee_yen"] == 2000
    world.customer.begin_cash("ten")
    world.customer.tap("apply")
    view = world.customer.wait_for(ScreenId.PAYMENT)
    assert view.facts["fee_yen"] == 2000
    world.customer.pay(1000)
    wait_paid(world, 1000)
    view = world.customer.cancel()
    assert view.screen is ScreenId.NOTICE and view.facts["refund_yen"] == 1000
    books(world, 0)
    nothing_printed(world)


# == when the fee is taken ====================================================================
@pytest.mark.requirement("PAY-003")
@LAYOUT
def test_nothing_printed_until_the_full_fee_is_in(world: World) -> None:
    view = to_payment(world, "resident_record", trait="household_of_1", copies=2)
    assert view.facts["fee_yen"] == 400
    world.customer.pay(100, 100, 100)
    wait_paid(world, 300)
    world.robot.screen(wait=0.3)  # let the kiosk act on what it counted
    assert world.customer.sees().screen is ScreenId.PAYMENT
    nothing_printed(world)
    world.customer.pay(100)
    finish(world)
    order = [e.screen for e in world.robot.history()]
    assert order.index(ScreenId.DOWNLOAD) < order.index(ScreenId.PAYMENT)
    assert order.index(ScreenId.PAYMENT) < order.index(ScreenId.PRINTING)
    assert len(print_jobs(world)) == 1
    books(world, 400)


# == change ===================================================================================
@pytest.mark.requirement("PAY-004")
@LAYOUT
@pytest.mark.parametrize(
    ("money", "change"),
    [([1000], 800), ([5000], 4800), ([100, 500], 400)],
    ids=["1000", "5000", "100+500"],
)
def test_change_is_inserted_minus_due(world: World, money: list[int], change: int) -> None:
    to_payment(world, "resident_record", trait="household_of_1")
    world.customer.pay(*money)
    view = world.customer.wait_for(ScreenId.TAKE_REMINDER)
    assert view.facts["change_yen"] == change
    finish(world)
    summary = world.cash.ledger.summary(world.cash.customer.session)
    assert summary.out_yen == change, "exactly the change, from the hoppers"
    books(world, 200)


@pytest.mark.requirement("PAY-005", "PAY-009")
@pytest.mark.world(
    marks="layout", with_verification_site=False,
    cash_faults={"hopper_coins": {10: 0, 50: 0, 100: 0, 500: 0}},
)  # fmt: skip
def test_bill_returned_from_escrow_when_change_cannot_be_paid(world: World) -> None:
    to_payment(world, "resident_record", trait="household_of_1")
    outcome = world.customer.insert_bill(1000)
    assert outcome.taken
    deadline = time.monotonic() + 10
    while not any(i.yen == 1000 for i in world.cash.customer.tray()):
        assert time.monotonic() < deadline, "the bill never came back"
        world.robot.screen(wait=0.05)
    assert world.cash.ledger.summary(world.cash.customer.session).in_yen == 0, "never stacked"
    assert world.customer.sees().facts["paid_yen"] == 0
    nothing_printed(world)
    world.customer.pay(100, 100)
    finish(world)
    books(world, 200)


# == cancelling ===============================================================================
@pytest.mark.requirement("PAY-007")
@LAYOUT
@pytest.mark.parametrize("money", [[100], [50, 10, 10], [100, 100, 100]], ids=str)
def test_cancel_on_payment_returns_everything(world: World, money: list[int]) -> None:
    to_payment(world, "resident_record", trait="household_of_1", copies=2)
    world.customer.pay(*money)
    wait_paid(world, sum(money))
    view = world.customer.cancel()
    assert view.screen is ScreenId.NOTICE and view.facts["code"] == "cancelled"
    assert view.facts["refund_yen"] == sum(money)
    books(world, 0)
    nothing_printed(world)
    assert world.centre.settlement() == [], "nothing issued"


# == rejected money ===========================================================================
@pytest.mark.requirement("PAY-006")
@LAYOUT
@pytest.mark.parametrize(
    ("form", "yen", "kind"),
    [("bill", 1000, "counterfeit"), ("bill", 5000, "foreign"), ("coin", 100, "counterfeit"),
     ("coin", 500, "damaged")],
    ids=["bill-counterfeit", "bill-foreign", "coin-counterfeit", "coin-damaged"],
)  # fmt: skip
def test_rejected_money_is_not_credited(world: World, form: str, yen: int, kind: str) -> None:
    to_payment(world, "resident_record", trait="household_of_1")
    c = world.customer
    if form == "bill":
        c.insert_bill(yen, kind)
    else:
        c.insert_coin(yen, kind)
    deadline = time.monotonic() + 10
    while not any(str(i.authenticity) == kind for i in world.cash.customer.tray()):
        assert time.monotonic() < deadline, "the rejected item never came back"
        world.robot.screen(wait=0.05)
    view = world.robot.screen(wait=0.3)
    assert view.screen is ScreenId.PAYMENT and view.facts["paid_yen"] == 0
    nothing_printed(world)
    c.pay(100, 100)
    finish(world)
    books(world, 200)
    returned = [i for i in c.change if str(i.authenticity) == kind]
    assert len(returned) == 1, "the rejected item is back with the customer"


# == cash unit faults =========================================================================
@pytest.mark.requirement("PAY-009")
@pytest.mark.parametrize(
    "fault",
    [
        pytest.param("bill_jam", marks=pytest.mark.world(
            marks="layout", with_verification_site=False, cash_faults={"acceptor_jam_on_bill": 1})),
        pytest.param("stacker_full", marks=pytest.mark.world(
            marks="layout", with_verification_site=False, cash_faults={"cassette_capacity": 1})),
        pytest.param("stacker_open", marks=LAYOUT),
    ],
)  # fmt: skip
def test_bill_side_fault_during_payment(world: World, fault: str) -> None:
    """The bill path fails on ⑫: nothing is credited for it, coins still pay, every yen is
    accounted for once staff have cleared the fault."""
    c = world.customer
    if fault == "stacker_full":
        # 3 × 350 yen: the first 1,000-yen bill fills the one-bill cassette
        to_payment(world, "koseki", trait="koseki_here", variant="full", copies=3)
        c.pay(1000)
        wait_paid(world, 1000)
        fee, credited = 1050, 1000
    else:
        to_payment(world, "resident_record", trait="household_of_1")
        fee, credited = 200, 0
        if fault == "stacker_open":
            world.cash.operator.open_stacker()
    c.insert_bill(1000)
    view = wait_view(
        world, lambda v: bool(v.facts.get("cash_fault")) or v.screen is not ScreenId.PAYMENT
    )
    assert view.screen is ScreenId.PAYMENT, view.text
    assert view.facts["paid_yen"] == credited, "the faulty bill is not credited"
    nothing_printed(world)
    c.pay(*coins_for(fee - credited))
    finish(world)
    if fault == "bill_jam":
        world.cash.operator.clear_bill_jam()
    elif fault == "stacker_open":
        world.cash.operator.close_stacker()
    books(world, fee)


@pytest.mark.requirement("PAY-009", "PAY-004")
@pytest.mark.world(
    marks="layout", with_verification_site=False,
    cash_faults={"hopper_coins": {10: 0, 50: 0, 100: 5, 500: 5}, "hopper_jam_on_coin": {100: 1}},
)  # fmt: skip
def test_hopper_jam_change_shortage_is_shown_and_owed(world: World) -> None:
    to_payment(world, "resident_record", trait="household_of_1")
    world.customer.pay(1000)
    view = world.customer.wait_for(ScreenId.TAKE_REMINDER)
    unpaid = int(view.facts["unpaid_yen"] or 0)
    assert 0 < unpaid <= 800
    assert any("店員をお呼びください" in line for line in view.text), "the shortfall is recorded"
    world.customer.take_change()
    summary = world.cash.ledger.summary(world.cash.customer.session)
    assert summary.out_yen + unpaid == 800, "paid change plus the recorded shortfall"
    assert world.cash.reconcile().ok


# == printing fails after payment ==============================================================
@pytest.mark.requirement("PAY-010", "PRINT-007", "INPUT-004")
@LAYOUT
def test_printer_offline_after_payment_refunds_the_fee(world: World) -> None:
    from emulators.printer import Fault, FaultKind

    to_payment(world, "resident_record", trait="household_of_1")
    world.printer.inject(Fault(FaultKind.OFFLINE))
    world.customer.pay(100, 100)
    view = world.customer.wait_for(ScreenId.NOTICE, timeout=30)
    assert view.facts["code"] == "print_failed" and view.facts["refund_yen"] == 200
    books(world, 0)
    world.printer.faults.go_online()
    world.robot.screen(wait=0.5)
    assert world.printer.tray_empty(), "nothing printed later"
    assert world.centre.settlement() == [] or all(
        int(r["copies"]) == 0 for r in world.centre.settlement()
    ), "a failed issuance is not settled"


# == money outside ⑫ ==========================================================================
@pytest.mark.requirement("PAY-011")
@LAYOUT
@pytest.mark.parametrize("where", ["card_hold", "confirmation"])
def test_money_outside_the_payment_screen_is_returned(world: World, where: str) -> None:
    c = world.customer
    c.begin_cash("outside")
    if where != "card_hold":
        card = world.issue_card("mynumber-valid", world.resident(CITY, "household_of_1"))
        authenticate(world, card)
        if where == "confirmation":
            choose_through_to_confirmation(world, "resident_record")
    assert c.sees().screen.value == where
    bill = c.insert_bill(1000)
    coin = c.insert_coin(100)
    assert not bill.taken, "the bill stays with the customer"
    assert not coin.taken and [i.yen for i in world.cash.customer.tray()] == [100]
    books(world, 0)
    if where == "confirmation":
        c.tap("apply")
        view = c.wait_for(ScreenId.PAYMENT)
        assert view.facts["paid_yen"] == 0, "nothing from before ⑫ is credited"
        c.cancel()
        books(world, 0)


# == the books over a run ======================================================================
@pytest.mark.requirement("PAY-013", "PAY-004", "PAY-007")
@LAYOUT
def test_cash_in_equals_fees_plus_change_plus_refunds(world: World) -> None:
    """Three customers: exact coins, a bill with change, a cancellation with a refund."""
    to_payment(world, "resident_record", trait="household_of_1", index=0)
    world.customer.pay(100, 100)
    finish(world)
    to_payment(world, "koseki", trait="koseki_here", variant="full")
    world.customer.pay(1000)
    finish(world)
    to_payment(world, "resident_record", trait="household_of_1", index=1)
    world.customer.pay(100)
    wait_paid(world, 100)
    world.customer.cancel()
    world.customer.take_change()
    ledger = world.cash.ledger
    sessions = [ledger.summary(s) for s in ledger.sessions()]
    cash_in = sum(s.in_yen for s in sessions)
    paid_out = sum(s.out_yen for s in sessions)
    fees = sum(int(r["fees"]) for r in world.centre.settlement())
    assert fees == 200 + 350
    assert cash_in == fees + paid_out
    assert paid_out == 650 + 100, "change 650 and refund 100"
    assert all(s.customer_owed_yen == 0 for s in sessions)
    assert world.cash.reconcile().ok


__all__ = [
    "LAYOUT",
    "books",
    "finish",
    "nothing_printed",
    "print_jobs",
    "records",
    "to_confirmation",
    "to_payment",
    "wait_paid",
    "wait_view",
]


# == several copies of a multi-page document: what is refunded and what is counted ============
@pytest.mark.requirement("PAY-010", "STAT-003")
@LAYOUT
def test_a_jam_part_way_through_several_multi_page_copies_refunds_every_copy(
    world: World,
) -> None:
    """3 copies of a 3-sheet 住民票 (a household of 8): the jam comes on the 5th sheet, inside
    the second copy. A refund of one copy's fee, or of the sheets not printed, would pass a
    one-copy, one-page test; here the whole fee must come back and nothing be counted."""
    from emulators.printer import Fault, FaultKind

    view = to_payment(world, "resident_record", trait="household_of_8", copies=3)
    assert view.facts["fee_yen"] == 600
    world.printer.inject(Fault(FaultKind.JAM, sheets=5))
    world.customer.pay(1000)
    wait_view(
        world, lambda v: v.screen is ScreenId.PRINTING and bool(v.facts.get("printer_problem"))
    )
    world.customer.wait_out(ScreenId.PRINTING)
    notice = world.customer.wait_for(ScreenId.NOTICE)
    assert notice.facts["code"] == "print_failed", notice
    assert notice.facts["refund_yen"] == 600, "every copy paid for comes back"
    books(world, 0)
    sheets = records(world, "printer-print", "sheet")
    assert len(sheets) == 4, "the first copy (3 sheets) and one sheet of the second came out"
    from scenarios.test_statistics import settlement

    assert all(row["copies"] == 0 for row in settlement(world, CITY)), "nothing counted"

"""Corrupted frames on the cash unit's serial links (DESIGN.md: Principles; notes/interfaces.md).

The cash unit's fault plan `corrupt_replies` (docs/cash.md) makes the bill validator (JCM
ID-003) or the ccTalk devices send some replies with a bad CRC, checksum or length. The
kiosk under test must discard them and ask again; it is judged by what crosses its
interfaces: the fee and the change on its screens (robot), the money in the tray and the
cash unit's books, the frames the devices saw (evidence), the sheets printed and the
centre's settlement.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from rig.core.protocols.robot import ScreenId
from rig.harness.world import World
from scenarios.test_payment import books, finish, nothing_printed, records, to_payment, wait_paid

FEE = 200  # 住民票の写し, Minato test city


def cash_faults(*rules: dict[str, Any]) -> pytest.MarkDecorator:
    """A world whose cash unit corrupts the replies `rules` describe (docs/cash.md)."""
    return pytest.mark.world(
        marks="layout", with_verification_site=False, cash_faults={"corrupt_replies": list(rules)}
    )


def corrupted(world: World, channel: str) -> list[dict[str, Any]]:
    """Replies the device sent corrupted (its evidence), to prove the fault really fired."""
    return [r for r in records(world, channel, "frame") if r.get("corrupted")]


def settled_copies(world: World) -> int:
    return sum(int(r["copies"]) for r in world.centre.settlement())


# == ID-003 ==================================================================================
@pytest.mark.requirement("INPUT-002", "PAY-004")
@pytest.mark.smoke
@cash_faults(
    {"link": "id003", "match": "ESCROW", "count": 1, "how": "crc"},
    {"link": "id003", "match": "VEND_VALID", "count": 1, "how": "length"},
)
def test_corrupt_escrow_and_vend_valid_replies_credit_the_bill_once(world: World) -> None:
    """The escrow and the vend-valid report arrive corrupted first: the bill counts once,
    the change is exactly 1,000 − 200 yen, and the books balance."""
    to_payment(world, "resident_record", trait="household_of_1")
    world.customer.pay(1000)
    view = world.customer.wait_for(ScreenId.TAKE_REMINDER, timeout=15)
    assert view.facts["change_yen"] == 1000 - FEE
    finish(world)
    summary = world.cash.ledger.summary(world.cash.customer.session)
    assert summary.in_yen == 1000, "the one bill, stacked once"
    assert summary.out_yen == 1000 - FEE, "exactly the change"
    books(world, FEE)
    assert settled_copies(world) == 1
    bad = [(r["status"], r["corrupted"]) for r in corrupted(world, "cash_id003")]
    assert bad == [("ESCROW", "crc"), ("VEND_VALID", "length")]


@pytest.mark.requirement("INPUT-002")
@cash_faults({"link": "id003", "match": "ACK", "count": 1})
def test_corrupt_ack_to_stack_is_not_a_second_bill(world: World) -> None:
    """The acceptor's ACK to STACK-1 is lost: the kiosk's repeat finds the bill already
    stacking (INVALID COMMAND); polling on, it credits the one bill once."""
    to_payment(world, "resident_record", trait="household_of_1", copies=3)
    world.customer.pay(1000)
    view = world.customer.wait_for(ScreenId.TAKE_REMINDER, timeout=15)
    assert view.facts["change_yen"] == 1000 - 3 * FEE
    finish(world)
    books(world, 3 * FEE)
    assert len(corrupted(world, "cash_id003")) == 1


# == ccTalk ==================================================================================
@pytest.mark.requirement("INPUT-003", "PAY-003")
@pytest.mark.smoke
@cash_faults({"link": "cctalk", "match": "NEW_COIN_EVENT", "count": 2, "how": "checksum"})
def test_corrupt_coin_credit_replies_count_each_coin_once(world: World) -> None:
    """The buffered-credit answers that carry the new coins arrive with a bad checksum:
    each coin still counts exactly once, so the exact fee pays and nothing comes back."""
    to_payment(world, "resident_record", trait="household_of_1")
    world.customer.pay(100, 100)
    view = world.customer.wait_for(ScreenId.TAKE_REMINDER, timeout=15)
    assert view.facts["change_yen"] == 0
    finish(world)
    summary = world.cash.ledger.summary(world.cash.customer.session)
    assert summary.out_yen == 0, "no change paid for coins counted twice"
    books(world, FEE)
    assert [r["header"] for r in corrupted(world, "cash_cctalk")] == ["READ_BUFFERED_CREDIT"] * 2


@pytest.mark.requirement("INPUT-003", "PAY-004")
@pytest.mark.parametrize(
    "header",
    [
        pytest.param(
            "REQUEST_HOPPER_STATUS",
            marks=cash_faults(
                {"link": "cctalk", "match": "REQUEST_HOPPER_STATUS", "count": 2, "how": "length"}
            ),
        ),
        pytest.param(
            "DISPENSE_HOPPER_COINS",
            marks=cash_faults({"link": "cctalk", "match": "DISPENSE_HOPPER_COINS", "count": 1}),
        ),
    ],
)
def test_corrupt_hopper_replies_pay_exactly_the_change(world: World, header: str) -> None:
    """The hoppers' answers during the change payout arrive corrupted: the customer still
    gets exactly 1,000 − 200 yen, never a coin more."""
    to_payment(world, "resident_record", trait="household_of_1")
    world.customer.pay(1000)
    view = world.customer.wait_for(ScreenId.TAKE_REMINDER, timeout=15)
    assert view.facts["change_yen"] == 1000 - FEE
    finish(world)
    summary = world.cash.ledger.summary(world.cash.customer.session)
    assert summary.out_yen == 1000 - FEE, f"paid {summary.out_yen} yen of change"
    books(world, FEE)
    assert {r["header"] for r in corrupted(world, "cash_cctalk")} == {header}, "the fault fired"


# == the line stays bad =======================================================================
@pytest.mark.requirement("INPUT-002", "PAY-007")
@cash_faults({"link": "id003", "match": "ESCROW", "count": 100_000, "sticky": True})
def test_bill_link_dead_from_escrow_stops_cleanly_and_refunds(world: World) -> None:
    """A coin is credited, then the bill link goes bad from the bill's escrow on: nothing is
    credited for the bill, nothing is printed, and cancelling refunds the coin."""
    to_payment(world, "resident_record", trait="household_of_1")
    world.customer.pay(100)
    wait_paid(world, 100)
    world.customer.insert_bill(1000)
    deadline = time.monotonic() + 5
    while not corrupted(world, "cash_id003"):
        assert time.monotonic() < deadline, "the escrow never happened"
        time.sleep(0.05)
    view = world.customer.cancel()
    assert view.screen is ScreenId.NOTICE, view.text
    assert view.facts["refund_yen"] == 100, view.facts
    nothing_printed(world)
    assert settled_copies(world) == 0
    world.customer.take_change()
    summary = world.cash.ledger.summary(world.cash.customer.session)
    assert ("bill", 1000) not in summary.cash_in, "the bill was never stacked"
    assert summary.net_yen == 0, "the kiosk kept nothing"
    assert world.cash.reconcile().ok

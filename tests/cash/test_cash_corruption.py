"""Corrupted device replies (fault `corrupt_replies`): the host must discard them and poll again.

The host side here is the rig's drivers (through tests.cash.kiosk), as a vendor's kiosk
would be: they see a silent device and repeat. Every test ends with the books reconciled,
so a corrupted reply never creates or loses money.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest

from emulators.cash import FaultPlan, FaultPlanError
from emulators.cash.faults import ReplyCorruption, corrupt_cctalk, corrupt_id003
from rig.core.drivers.cctalk import NoReply
from rig.core.drivers.id003 import NoAnswer
from rig.core.evidence import EvidenceStore
from rig.core.protocols import cctalk, id003
from tests.cash.conftest import UnitFactory
from tests.cash.kiosk import Payment
from tests.cash.test_cash_payments import assert_reconciled, connect, disconnect

FEE = 350


def corrupted_frames(evidence: EvidenceStore, channel: str) -> list[dict[str, Any]]:
    return [r for r in evidence.records(channel) if r["event"] == "frame" and r.get("corrupted")]


# -- the plan ---------------------------------------------------------------------------
def test_plan_round_trips_as_data() -> None:
    data = {
        "corrupt_replies": [
            {"link": "id003", "match": "ESCROW", "count": 2},
            {"link": "cctalk", "match": "NEW_COIN_EVENT", "how": "length", "after": 1},
        ]
    }
    plan = FaultPlan.from_dict(data)
    assert plan.corrupt_replies == [
        ReplyCorruption("id003", 2, "ESCROW"),
        ReplyCorruption("cctalk", 1, "NEW_COIN_EVENT", after=1, how="length"),
    ]
    assert plan.corrupt_replies[0].mode == "crc"
    assert FaultPlan.from_dict(asdict(plan)) == plan


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"link": "rs232"}, "unknown link"),
        ({"match": "ESCROW"}, "needs a link"),
        ({"link": "id003", "count": 0}, "count must be"),
        ({"link": "id003", "after": -1}, "after must be"),
        ({"link": "id003", "how": "checksum"}, "how must be one of"),
        ({"link": "cctalk", "match": "ESCROW"}, "nothing on this link"),
        ({"link": "id003", "address": 2}, "cctalk only"),
        ({"link": "cctalk", "address": 9}, "no device"),
        ({"link": "id003", "when": "now"}, "unknown key"),
        ({"link": "id003", "sticky": "yes"}, "sticky must be"),
        ("id003", "must be mappings"),
    ],
)
def test_plan_refuses_impossible_corruptions(entry: object, message: str) -> None:
    with pytest.raises(FaultPlanError, match=message):
        FaultPlan.from_dict({"corrupt_replies": [entry]})


def test_corrupt_frames_no_longer_decode() -> None:
    frame = id003.encode_frame(id003.Status.ESCROW, b"\x61")
    with pytest.raises(id003.CrcError):
        id003.decode_frame(corrupt_id003(frame, "crc"))
    assert id003.FrameDecoder().feed(corrupt_id003(frame, "length")) == []
    packet = cctalk.encode_packet(1, 2, 0, bytes((7, 3, 1, 0, 14, 0, 0, 0, 0, 0, 0)))
    with pytest.raises(cctalk.ChecksumError):
        cctalk.decode_packet(corrupt_cctalk(packet, "checksum"))
    host = cctalk.PacketDecoder(accept=frozenset({(1, 2)}))
    assert not any(
        isinstance(i, cctalk.Packet) for i in host.feed(corrupt_cctalk(packet, "length"))
    )


# -- ID-003 ----------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["crc", "length"])
def test_corrupt_escrow_replies_are_polled_again(
    make_unit: UnitFactory, evidence: EvidenceStore, how: str
) -> None:
    rule = {"link": "id003", "match": "ESCROW", "count": 2, "how": how}
    unit = make_unit({"corrupt_replies": [rule]})
    kiosk = connect(unit)
    try:
        session = unit.customer.begin("escrow")
        payment = Payment(FEE)
        unit.customer.insert_bill(1000)
        kiosk.step(payment)
        assert payment.credit == 1000, "credited once, after an intact ESCROW"
        kiosk.settle(payment)
        assert payment.change is not None and payment.change.complete
        unit.customer.take_change()
        assert_reconciled(unit, session, FEE)
    finally:
        disconnect(kiosk)
    bad = corrupted_frames(evidence, "cash_id003")
    assert [(r["status"], r["corrupted"]) for r in bad] == [("ESCROW", how)] * 2
    assert unit.id003_link.stats.corrupted_replies == 2


def test_persistent_corruption_leaves_the_host_without_an_answer(make_unit: UnitFactory) -> None:
    unit = make_unit({"corrupt_replies": [{"link": "id003", "match": "ESCROW", "count": 1000}]})
    kiosk = connect(unit)
    try:
        session = unit.customer.begin("persist")
        payment = Payment(FEE)
        unit.customer.insert_bill(1000)
        with pytest.raises(NoAnswer):
            kiosk.step(payment)
        assert payment.credit == 0
        kiosk.bv.return_bill()  # the command's ACK is not corrupted: the bill comes back
        for _ in range(4):
            kiosk.bv.poll()
        assert [i.yen for i in unit.customer.take_change()] == [1000]
        assert_reconciled(unit, session, 0)
    finally:
        disconnect(kiosk)


def test_after_skips_intact_replies_first(make_unit: UnitFactory) -> None:
    unit = make_unit({"corrupt_replies": [{"link": "id003", "match": "IDLING", "after": 2}]})
    link = unit.id003_link
    poll = id003.encode_frame(id003.Command.STATUS_REQUEST)
    link.receive(id003.encode_frame(id003.Command.RESET))
    link.receive(id003.encode_frame(id003.Command.SET_INHIBIT, b"\x00"))
    answers = [link.receive(poll) for _ in range(5)]
    decoded = []
    for raw in answers:
        try:
            decoded.append(id003.decode_frame(raw).name("device"))
        except id003.Id003Error:
            decoded.append("corrupt")
    # INITIALIZING first, then IDLING: the 3rd IDLING reply is the corrupt one
    assert decoded == ["INITIALIZING", "IDLING", "IDLING", "corrupt", "IDLING"]


# -- ccTalk ----------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["checksum", "length"])
def test_corrupt_coin_credit_is_read_again_and_counted_once(
    make_unit: UnitFactory, evidence: EvidenceStore, how: str
) -> None:
    rule = {"link": "cctalk", "match": "NEW_COIN_EVENT", "count": 2, "how": how}
    unit = make_unit({"corrupt_replies": [rule]})
    kiosk = connect(unit)
    try:
        session = unit.customer.begin("coin")
        payment = Payment(FEE)
        for yen in (100, 100, 100, 50):
            assert unit.customer.insert_coin(yen).result == "accepted"
        kiosk.step(payment, polls=2)
        assert payment.credit == FEE, "each coin credited exactly once"
        assert kiosk.coins.lost_events == 0
        kiosk.settle(payment)
        assert payment.change is None, "exact payment: no change"
        assert_reconciled(unit, session, FEE)
    finally:
        disconnect(kiosk)
    bad = corrupted_frames(evidence, "cash_cctalk")
    assert [(r["header"], r["corrupted"]) for r in bad] == [("READ_BUFFERED_CREDIT", how)] * 2


def test_new_coin_event_matches_only_replies_with_an_undelivered_event(
    make_unit: UnitFactory,
) -> None:
    unit = make_unit({"corrupt_replies": [{"link": "cctalk", "match": "NEW_COIN_EVENT"}]})
    kiosk = connect(unit)
    try:
        session = unit.customer.begin("quiet")
        payment = Payment(FEE)
        kiosk.step(payment, polls=3)  # nothing new to report: every reply intact
        assert unit.cctalk_link.stats.corrupted_replies == 0
        unit.customer.insert_coin(500)
        kiosk.step(payment, polls=1)
        assert unit.cctalk_link.stats.corrupted_replies == 1
        assert payment.credit == 500
        kiosk.settle(payment)
        assert sorted(i.yen for i in unit.customer.take_change()) == [50, 100]
        assert_reconciled(unit, session, FEE)
    finally:
        disconnect(kiosk)


def test_corrupt_replies_of_one_hopper_only(make_unit: UnitFactory) -> None:
    rule = {"link": "cctalk", "address": 6, "match": "TEST_HOPPER", "count": 1000}
    unit = make_unit({"corrupt_replies": [rule]})
    kiosk = connect(unit)
    try:
        with pytest.raises(NoReply):
            kiosk.change.hoppers[500].test()
        assert kiosk.change.hoppers[100].test() is not None
    finally:
        disconnect(kiosk)


def test_sticky_corruption_breaks_the_line_from_the_first_match(make_unit: UnitFactory) -> None:
    rule = {"link": "id003", "match": "ESCROW", "count": 1000, "sticky": True}
    unit = make_unit({"corrupt_replies": [rule]})
    kiosk = connect(unit)
    try:
        kiosk.bv.poll()  # intact: nothing matched yet
        unit.customer.begin("sticky")
        unit.customer.insert_bill(1000)
        with pytest.raises(NoAnswer):
            kiosk.step(Payment(FEE))
        with pytest.raises(NoAnswer):
            kiosk.bv.version()  # not an ESCROW answer, corrupted all the same
    finally:
        disconnect(kiosk)
    assert unit.ledger.summary(unit.customer.session).in_yen == 0, "the bill was never stacked"
    assert unit.reconcile().ok

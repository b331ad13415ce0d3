"""The emulated ID-003 acceptor, driven by the host driver over a real pty."""

from __future__ import annotations

import pytest

from emulators.cash import CashUnit, audit
from rig.core.clock import RigClock
from rig.core.drivers.id003 import BillEventKind, BillValidator, InvalidCommand, NoAnswer
from rig.core.evidence import EvidenceStore
from rig.core.protocols import id003
from rig.core.protocols.id003 import Command, RejectReason, Status
from tests.cash.conftest import UnitFactory


def boot(bv: BillValidator, enable: bool = True) -> None:
    assert bv.poll() is not None
    bv.reset()
    assert bv.wait_for(BillEventKind.DISABLED).status == Status.DISABLED
    if enable:
        bv.enable()
        bv.wait_for(BillEventKind.IDLE)


def test_power_up_reset_and_settings(unit: CashUnit, bv: BillValidator) -> None:
    first = bv.poll()
    assert first is not None and first.status == Status.POWER_UP
    assert bv.poll() is None  # unchanged status is not a new event
    bv.reset()
    assert bv.poll() is not None and bv.status == Status.INITIALIZING
    assert bv.wait_for(BillEventKind.DISABLED).status == Status.DISABLED
    # setting commands are echoed, setting requests read them back
    assert bv.request(Command.SET_SECURITY, b"\x12\x00").data == b"\x12\x00"
    assert bv.request(Command.GET_SECURITY).data == b"\x12\x00"
    bv.enable({1000, 5000})
    assert bv.request(Command.GET_DENOMINATION).data == id003.denomination_mask({1000, 5000})
    assert bv.wait_for(BillEventKind.IDLE).status == Status.IDLING
    bv.inhibit()
    assert bv.wait_for(BillEventKind.DISABLED).status == Status.DISABLED
    assert "KONBINI-RIG" in bv.version()


def test_invalid_commands_get_0x4b(unit: CashUnit, bv: BillValidator) -> None:
    boot(bv)
    with pytest.raises(InvalidCommand):
        bv.stack()  # nothing in escrow
    with pytest.raises(InvalidCommand):
        bv.request(0x99)
    with pytest.raises(InvalidCommand):
        bv.request(Command.SET_INHIBIT, b"\x00\x00")  # wrong length
    with pytest.raises(InvalidCommand):
        bv.request(Command.STATUS_REQUEST, b"\x00")


def test_bad_crc_gets_no_answer(unit: CashUnit, bv: BillValidator) -> None:
    boot(bv)
    raw = bytearray(id003.encode_frame(Command.STATUS_REQUEST))
    raw[-1] ^= 0xFF
    bv.port.write(bytes(raw))
    assert bv.port.read(5) == b""  # silence: the host must repeat
    assert bv.poll() is None and bv.status == Status.IDLING


def test_escrow_stack_vend_valid_stacked(
    unit: CashUnit, bv: BillValidator, evidence: EvidenceStore
) -> None:
    boot(bv)
    unit.customer.begin("stack")
    assert unit.customer.insert_bill(5000).result == "taken in"
    assert unit.customer.insert_bill(1000).result.startswith("refused")  # slot busy
    assert bv.poll() is not None and bv.status == Status.ACCEPTING
    escrow = bv.wait_for(BillEventKind.ESCROW)
    assert escrow.denomination == 5000
    bv.stack()
    credited = bv.wait_for(BillEventKind.CREDITED)
    assert credited.denomination == 5000
    assert bv.wait_for(BillEventKind.STACKED).denomination == 5000
    assert bv.wait_for(BillEventKind.IDLE).status == Status.IDLING
    assert unit.ledger.contents(audit.CASSETTE)[0].yen == 5000
    assert unit.ledger.summary("stack").in_yen == 5000
    statuses = [r.get("status") for r in evidence.records("cash_id003")]
    for expected in ("ACCEPTING", "ESCROW", "STACKING", "VEND_VALID", "STACKED"):
        assert expected in statuses
    assert unit.reconcile().ok


def test_vend_valid_repeats_until_acked(unit: CashUnit, bv: BillValidator) -> None:
    boot(bv)
    unit.customer.insert_bill(1000)
    bv.wait_for(BillEventKind.ESCROW)
    bv.stack()
    statuses = [bv.request(Command.STATUS_REQUEST).cmd for _ in range(5)]
    assert statuses[-2:] == [Status.VEND_VALID, Status.VEND_VALID]
    bv.send(Command.ACK)
    assert bv.request(Command.STATUS_REQUEST).cmd == Status.STACKED


def test_return_from_escrow(unit: CashUnit, bv: BillValidator) -> None:
    boot(bv)
    unit.customer.insert_bill(10000)
    assert bv.wait_for(BillEventKind.ESCROW).denomination == 10000
    bv.return_bill()
    assert bv.wait_for(BillEventKind.RETURNING).status == Status.RETURNING
    bv.wait_for(BillEventKind.IDLE)
    assert [i.yen for i in unit.customer.tray()] == [10000]
    assert [i.yen for i in unit.customer.take_change()] == [10000]
    assert unit.customer.tray() == []
    assert unit.ledger.contents(audit.CASSETTE) == []


def test_hold_times_out_on_the_rig_clock(
    unit: CashUnit, bv: BillValidator, rig_clock: RigClock
) -> None:
    boot(bv)
    unit.customer.insert_bill(2000)
    bv.wait_for(BillEventKind.ESCROW)
    bv.hold()
    assert bv.wait_for(BillEventKind.HOLDING).status == Status.HOLDING
    for _ in range(5):  # wall time passes, the rig clock does not: still holding
        assert bv.poll() is None
    rig_clock.advance(10)
    assert bv.wait_for(BillEventKind.RETURNING).status == Status.RETURNING
    bv.wait_for(BillEventKind.IDLE)
    assert [i.yen for i in unit.customer.tray()] == [2000]


@pytest.mark.parametrize(
    ("kind", "yen", "reason"),
    [
        ("counterfeit", 10000, RejectReason.MAGNETIC_PATTERN),
        ("foreign", 20, RejectReason.DENOMINATION_ASSESSING),
        ("damaged", 1000, RejectReason.PHOTO_PATTERN),
    ],
)
def test_rejects_with_reason(
    unit: CashUnit, bv: BillValidator, kind: str, yen: int, reason: RejectReason
) -> None:
    boot(bv)
    unit.customer.insert_bill(yen, kind)
    event = bv.wait_for(BillEventKind.REJECTED)
    assert event.reason == reason
    bv.wait_for(BillEventKind.IDLE)
    back = unit.customer.take_change()
    assert len(back) == 1 and back[0].authenticity == kind
    assert unit.ledger.contents(audit.CASSETTE) == []
    assert unit.reconcile().ok


def test_inhibited_denomination_is_rejected(unit: CashUnit, bv: BillValidator) -> None:
    boot(bv, enable=False)
    bv.enable({1000})
    bv.wait_for(BillEventKind.IDLE)
    unit.customer.insert_bill(10000)
    assert bv.wait_for(BillEventKind.REJECTED).reason == RejectReason.INHIBITED


def test_disabled_acceptor_refuses_bills(unit: CashUnit, bv: BillValidator) -> None:
    boot(bv, enable=False)
    assert unit.customer.insert_bill(1000).result == "refused: acceptor is disabled"
    assert unit.ledger.movements(unit.customer.session) == []


def test_acceptor_jam_then_cleared(make_unit: UnitFactory) -> None:
    unit = make_unit({"acceptor_jam_on_bill": 2})
    with BillValidator.open(unit.endpoints["bill_validator_port"]) as bv:
        boot(bv)
        unit.customer.insert_bill(1000)
        bv.wait_for(BillEventKind.ESCROW)
        bv.stack()
        bv.wait_for(BillEventKind.IDLE)
        unit.customer.insert_bill(1000)
        event = bv.wait_for(BillEventKind.ESCROW)
        assert event.error == Status.ACCEPTOR_JAM
        assert bv.poll() is None and bv.status == Status.ACCEPTOR_JAM  # stays jammed
        assert unit.operator.clear_bill_jam() == ["acceptor jam"]
        assert bv.wait_for(BillEventKind.IDLE).status == Status.IDLING
        assert [i.yen for i in unit.customer.take_change()] == [1000]
        assert unit.reconcile().ok


def test_stacker_jam_then_cleared_is_credited(make_unit: UnitFactory) -> None:
    unit = make_unit({"stacker_jam_on_stack": 1})
    with BillValidator.open(unit.endpoints["bill_validator_port"]) as bv:
        boot(bv)
        unit.customer.insert_bill(1000)
        bv.wait_for(BillEventKind.ESCROW)
        bv.stack()
        assert bv.wait_for(BillEventKind.CREDITED).error == Status.STACKER_JAM
        assert unit.ledger.contents(audit.STACKING)[0].yen == 1000
        unit.operator.clear_bill_jam()
        # a bill past the point of no return is finished into the cassette and credited
        assert bv.wait_for(BillEventKind.CREDITED).denomination == 1000
        bv.wait_for(BillEventKind.IDLE)
        assert unit.ledger.contents(audit.CASSETTE)[0].yen == 1000
        assert unit.reconcile().ok


def test_stacker_full_and_open(make_unit: UnitFactory) -> None:
    unit = make_unit({"cassette_capacity": 1})
    with BillValidator.open(unit.endpoints["bill_validator_port"]) as bv:
        boot(bv)
        unit.customer.insert_bill(1000)
        bv.wait_for(BillEventKind.ESCROW)
        bv.stack()
        assert bv.wait_for(BillEventKind.IDLE).error == Status.STACKER_FULL
        assert unit.customer.insert_bill(1000).result == "refused: acceptor is stacker_full"
        unit.operator.open_stacker()
        assert bv.wait_for(BillEventKind.IDLE).error == Status.STACKER_OPEN
        assert [i.yen for i in unit.operator.empty_cassette()] == [1000]
        unit.operator.close_stacker()
        assert bv.wait_for(BillEventKind.IDLE).status == Status.IDLING
        assert unit.reconcile().ok


def test_forced_failure_and_cheated(unit: CashUnit, bv: BillValidator) -> None:
    boot(bv)
    unit.operator.force_bill_error(Status.FAILURE, 0xA2)
    event = bv.wait_for(BillEventKind.IDLE)
    assert event.error == Status.FAILURE and event.failure_code == 0xA2
    unit.operator.force_bill_error(Status.CHEATED)
    assert bv.wait_for(BillEventKind.IDLE).error == Status.CHEATED
    unit.operator.clear_bill_error()
    assert bv.wait_for(BillEventKind.IDLE).status == Status.IDLING


def test_power_loss_leaves_the_line_silent(unit: CashUnit, bv: BillValidator) -> None:
    boot(bv)
    unit.power_loss()
    with pytest.raises(NoAnswer):
        bv.poll()
    assert unit.customer.insert_bill(1000).result == "refused: acceptor has no power"
    unit.power_on()
    assert bv.wait_for(BillEventKind.POWER_UP).status == Status.POWER_UP

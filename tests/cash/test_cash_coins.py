"""The emulated ccTalk coin acceptor and hoppers, driven by the host drivers over a real pty."""

from __future__ import annotations

import pytest

from emulators.cash import CashUnit, audit
from rig.core.drivers.cctalk import (
    Busy,
    CcTalkBus,
    ChangeDispenser,
    CoinAcceptor,
    Hopper,
    Nak,
    NoReply,
    plan_change,
)
from rig.core.evidence import EvidenceStore
from rig.core.protocols import cctalk
from rig.core.protocols.cctalk import CoinError, Header, HopperFlag
from tests.cash.conftest import UnitFactory


def test_identity_and_simple_poll(unit: CashUnit, bus: CcTalkBus) -> None:
    bus.poll(2)
    assert bus.category(2) == "Coin Acceptor"
    assert bus.category(3) == "Payout"
    assert bus.request(2, Header.REQUEST_COIN_ID, b"\x04") == b"JP500A"
    assert bus.request(2, Header.REQUEST_COIN_ID, b"\x09") == b"......"
    assert bus.request(5, Header.REQUEST_MANUFACTURER_ID) == b"KNB"


def test_unknown_header_naks_and_other_addresses_stay_silent(
    unit: CashUnit, bus: CcTalkBus
) -> None:
    with pytest.raises(Nak):
        bus.request(2, 99)
    with pytest.raises(Nak):
        bus.request(2, Header.MODIFY_INHIBIT_STATUS, b"\x01")  # wrong length
    with pytest.raises(NoReply):
        bus.request(40, Header.SIMPLE_POLL)  # nobody at 40
    with pytest.raises(NoReply):
        bus.request(0, Header.SIMPLE_POLL)  # broadcast: no device answers
    bad = bytearray(cctalk.encode_packet(2, 1, Header.SIMPLE_POLL))
    bad[-1] ^= 1
    bus.port.write(bytes(bad))
    assert bus.port.read(5) == b""  # bad checksum: silence


def test_coin_credits_errors_and_inhibit(unit: CashUnit, coins: CoinAcceptor) -> None:
    coins.enable({10, 100, 500})
    unit.customer.begin("coins")
    assert unit.customer.insert_coin(100).result == "accepted"
    assert unit.customer.insert_coin(500).result == "accepted"
    assert unit.customer.insert_coin(50).result == "returned: inhibited"
    assert unit.customer.insert_coin(500, "counterfeit").result == "returned: counterfeit"
    assert unit.customer.insert_coin(100, "foreign").result == "returned: foreign"
    events = coins.poll()
    assert [e.yen for e in events[:2]] == [100, 500]
    assert [e.error for e in events[2:]] == [
        CoinError.INHIBITED_COIN,
        CoinError.REJECT_SLUG,
        CoinError.REJECT_COIN,
    ]
    assert coins.poll() == []
    coins.inhibit()
    assert unit.customer.insert_coin(10).result == "returned: inhibited"
    assert [e.error for e in coins.poll()] == [CoinError.INHIBITED_COIN]
    summary = unit.ledger.summary("coins")
    assert summary.in_yen == 600
    assert sorted(i.yen for i in unit.customer.take_change()) == [10, 50, 100, 500]
    assert unit.reconcile().ok


def test_more_than_five_events_between_polls_are_counted_lost(
    unit: CashUnit, coins: CoinAcceptor
) -> None:
    coins.enable()
    for _ in range(7):
        unit.customer.insert_coin(10)
    events = coins.poll()
    assert len(events) == 5 and coins.lost_events == 2


def test_coin_jam(make_unit: UnitFactory) -> None:
    unit = make_unit({"coin_jam_on_coin": 2})
    with CcTalkBus.open(unit.endpoints["coin_port"]) as bus:
        coins = CoinAcceptor(bus)
        coins.enable()
        assert unit.customer.insert_coin(100).result == "accepted"
        assert unit.customer.insert_coin(100).result == "jammed"
        assert unit.customer.insert_coin(10).result == "returned: coin acceptor jammed"
        events = coins.poll()
        assert events[0].yen == 100
        assert [e.error for e in events[1:]] == [CoinError.CREDIT_SENSOR_BLOCKED] * 2
        assert unit.operator.clear_coin_jam()
        assert sorted(i.yen for i in unit.customer.take_change()) == [10, 100]
        assert unit.customer.insert_coin(100).result == "accepted"
        assert unit.reconcile().ok


def test_hopper_dispense_status_and_counts(unit: CashUnit, bus: CcTalkBus) -> None:
    hopper = Hopper(bus, 5, 100)
    with pytest.raises(Nak):
        hopper.dispense(3)  # not enabled yet
    assert hopper.test() & HopperFlag.PAYOUT_DISABLED
    hopper.enable()
    assert hopper.level().count == 50
    counter = hopper.dispense(7)
    with pytest.raises(Busy):
        hopper.dispense(1)
    status = hopper.status()
    while status.remaining:
        status = hopper.status()
    assert (status.event_counter, status.paid, status.unpaid) == (counter, 7, 0)
    assert hopper.dispense_count() == 7
    assert hopper.level().count == 43
    assert [i.yen for i in unit.customer.take_change()] == [100] * 7


def test_hopper_runs_empty(make_unit: UnitFactory) -> None:
    unit = make_unit({"hopper_coins": {500: 2}})
    with CcTalkBus.open(unit.endpoints["coin_port"]) as bus:
        hopper = Hopper(bus, 6, 500)
        hopper.enable()
        level = hopper.level()
        assert level.count == 2 and level.low
        status = hopper.pay(3)
        assert (status.paid, status.unpaid) == (2, 1)
        assert hopper.test() & HopperFlag.PAYOUT_TIMEOUT
        assert hopper.level().count == 0
        assert unit.reconcile().ok


def test_hopper_jam(make_unit: UnitFactory) -> None:
    unit = make_unit({"hopper_jam_on_coin": {50: 2}})
    with CcTalkBus.open(unit.endpoints["coin_port"]) as bus:
        hopper = Hopper(bus, 4, 50)
        hopper.enable()
        status = hopper.pay(5)
        assert (status.paid, status.unpaid) == (1, 4)
        assert hopper.test() & HopperFlag.OPTO_BLOCKED_PAYOUT
        assert hopper.pay(1).unpaid == 1  # still jammed
        assert unit.operator.clear_hopper_jam(50)
        assert hopper.pay(1).paid == 1


def test_change_dispenser_plans_from_levels(make_unit: UnitFactory) -> None:
    unit = make_unit({"hopper_coins": {500: 0, 100: 3, 50: 1, 10: 10}})
    with CcTalkBus.open(unit.endpoints["coin_port"]) as bus:
        change = ChangeDispenser.standard(bus)
        change.enable()
        assert change.levels() == {10: 10, 50: 1, 100: 3, 500: 0}
        assert change.plan(650) is None  # 300 + 50 + 100 in tens is short
        assert change.plan(440) == {100: 3, 50: 1, 10: 9}
        result = change.pay(440)
        assert result.complete and result.by_coin == {100: 3, 50: 1, 10: 9}
        assert sum(i.value for i in unit.customer.take_change()) == 440


def test_plan_change_edge_cases() -> None:
    assert plan_change(0, {100: 0}) == {}
    assert plan_change(60, {50: 1, 10: 0}) is None
    assert plan_change(60, {50: 1, 10: 6}) == {50: 1, 10: 1}
    # greedy would take the 50 and be stuck; the exact search pays 3 x 20
    assert plan_change(60, {50: 1, 20: 3}) == {20: 3}
    with pytest.raises(ValueError):
        plan_change(-1, {})


def test_local_echo(make_unit: UnitFactory, evidence: EvidenceStore) -> None:
    unit = make_unit(local_echo=True)
    with CcTalkBus.open(unit.endpoints["coin_port"], local_echo=True) as bus:
        assert bus.category(2) == "Coin Acceptor"
        hopper = Hopper(bus, 3, 10)
        hopper.enable()
        assert hopper.pay(3).paid == 3
    with CcTalkBus.open(unit.endpoints["coin_port"], local_echo=False) as raw:
        raw.port.write(cctalk.encode_packet(2, 1, Header.SIMPLE_POLL))
        echoed = raw.port.read(10)
        assert echoed == cctalk.encode_packet(2, 1, 254) + cctalk.encode_packet(1, 2, 0)
    assert any(r["header"] == "SIMPLE_POLL" for r in evidence.records("cash_cctalk"))


def test_power_loss_mid_payout_keeps_the_books(unit: CashUnit, bus: CcTalkBus) -> None:
    hopper = Hopper(bus, 3, 10)
    hopper.enable()
    hopper.dispense(20)
    first = hopper.status()  # the first coins are out
    unit.power_loss()
    with pytest.raises(NoReply):
        hopper.status()
    unit.power_on()
    assert hopper.test() & HopperFlag.POWER_UP_DETECTED
    status = hopper.status()
    assert status.event_counter == 0 and status.remaining == 0
    paid = len(unit.ledger.contents(audit.TRAY))
    assert paid == first.paid > 0
    assert hopper.level().count == 50 - paid
    assert hopper.dispense_count() == paid  # the kiosk can learn what left
    assert unit.reconcile().ok


def test_reset_inhibits_coins_and_zeroes_the_counter(unit: CashUnit, coins: CoinAcceptor) -> None:
    coins.enable()
    unit.customer.insert_coin(100)
    assert [e.yen for e in coins.poll()] == [100]
    coins.reset()
    counter, _pairs = cctalk.buffered_credit_pairs(
        coins.bus.request(2, Header.READ_BUFFERED_CREDIT)
    )
    assert counter == 0
    assert unit.customer.insert_coin(100).result == "returned: inhibited"
    assert coins.bus.request(2, Header.REQUEST_INHIBIT_STATUS) == b"\x00\x00"

"""The audit ledger: double entry, persistence, tamper detection; fault plans as data."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict
from pathlib import Path

import pytest

from emulators.cash import audit
from emulators.cash.audit import AuditError, Ledger
from emulators.cash.faults import FaultPlan, FaultPlanError
from emulators.cash.money import MoneyError, bill, coin
from rig.core.clock import RigClock


def test_moves_balances_and_summary(tmp_path: Path, rig_clock: RigClock) -> None:
    ledger = Ledger(tmp_path, rig_clock.now)
    ledger.move(coin(100), audit.OPERATOR, audit.hopper_place(100), "fill", 10)
    ledger.begin_session("txn-1")
    ledger.move(bill(1000), audit.CUSTOMER, audit.ACCEPTOR, "insert")
    ledger.move(bill(1000), audit.ACCEPTOR, audit.STACKING, "stack")
    ledger.move(bill(1000), audit.STACKING, audit.CASSETTE, "stacked")
    for _ in range(6):
        ledger.move(coin(100), audit.hopper_place(100), audit.TRAY, "payout")
    ledger.move(coin(100), audit.TRAY, audit.CUSTOMER, "taken", 6)
    s = ledger.summary("txn-1")
    assert s.cash_in == {("bill", 1000): 1}
    assert s.cash_out == {("coin", 100): 6}
    assert (s.given_yen, s.net_yen, s.taken_back_yen, s.customer_owed_yen) == (1000, 400, 600, 0)
    assert ledger.count(audit.hopper_place(100), coin(100)) == 4
    assert ledger.moved(src=audit.hopper_place(100), dst=audit.TRAY) == 6
    report = ledger.reconcile()
    assert report.ok, report.problems
    assert report.balances["cassette"] == {"bill:1000": 1}
    ledger.close()


def test_cannot_take_what_is_not_there(tmp_path: Path, rig_clock: RigClock) -> None:
    ledger = Ledger(tmp_path, rig_clock.now)
    with pytest.raises(AuditError, match="holds 0"):
        ledger.move(coin(500), audit.hopper_place(500), audit.TRAY, "payout")
    with pytest.raises(AuditError):
        ledger.move(coin(500), audit.TRAY, audit.TRAY, "nowhere")
    with pytest.raises(AuditError):
        ledger.move(coin(500), audit.OPERATOR, audit.TRAY, "none", count=0)
    assert ledger.movements() == []  # a refused movement leaves no trace
    ledger.close()


def test_books_survive_a_restart(tmp_path: Path, rig_clock: RigClock) -> None:
    ledger = Ledger(tmp_path, rig_clock.now)
    ledger.begin_session("before-crash")
    ledger.move(bill(5000), audit.CUSTOMER, audit.ACCEPTOR, "insert")
    del ledger  # no close: as if the process died
    again = Ledger(tmp_path, rig_clock.now)
    assert again.session == "before-crash"
    assert again.contents(audit.ACCEPTOR) == [bill(5000)]
    assert again.reconcile().ok
    with pytest.raises(AuditError, match="already has movements"):
        again.begin_session("before-crash")
    again.close()


def test_reconcile_detects_tampering(tmp_path: Path, rig_clock: RigClock) -> None:
    ledger = Ledger(tmp_path, rig_clock.now)
    ledger.move(coin(10), audit.OPERATOR, audit.hopper_place(10), "fill", 5)
    ledger.close()
    db = sqlite3.connect(tmp_path / Ledger.FILENAME)
    db.execute("UPDATE balances SET count = count - 1 WHERE place = 'hopper:10'")
    db.commit()
    db.close()
    report = Ledger(tmp_path, rig_clock.now).reconcile()
    assert not report.ok
    assert any("journal says 5" in p for p in report.problems)
    assert any("does not sum to zero" in p for p in report.problems)


def test_money_items() -> None:
    assert bill(1000).value == 1000
    assert bill(1000, "counterfeit").value == 0
    assert coin(5, "foreign").value == 0
    assert sum(i.value for i in (bill(1000), coin(500), coin(50, "damaged"))) == 1500
    with pytest.raises(MoneyError):
        bill(3000)
    with pytest.raises(MoneyError):
        coin(5)
    with pytest.raises(ValueError):
        coin(10, "plastic")


def test_fault_plan_from_data() -> None:
    plan = FaultPlan.from_dict(
        {"acceptor_jam_on_bill": 2, "hopper_coins": {"500": 0}, "hopper_jam_on_coin": {100: 3}}
    )
    assert plan.acceptor_jam_on_bill == 2
    assert plan.initial_fill()[500] == 0 and plan.initial_fill()[10] == 50
    assert plan.hopper_jam_on_coin == {100: 3}
    assert FaultPlan.from_dict(asdict(plan)) == plan
    with pytest.raises(FaultPlanError, match="unknown fault"):
        FaultPlan.from_dict({"explode": True})
    with pytest.raises(FaultPlanError):
        FaultPlan.from_dict({"cassette_capacity": 0})
    with pytest.raises(FaultPlanError):
        FaultPlan.from_dict({"hopper_coins": {5: 1}})
    with pytest.raises(FaultPlanError):
        FaultPlan.from_dict({"hopper_jam_on_coin": {10: 0}})

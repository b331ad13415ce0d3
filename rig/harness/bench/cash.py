"""Cash unit benchmarks: frames per second on each link, and one whole 350-yen payment.

All over real ptys, host drivers (rig.core.drivers) against the emulator (emulators.cash).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from emulators.cash import CashUnit
from rig.core.clock import RigClock
from rig.core.drivers.cctalk import CcTalkBus, ChangeDispenser, CoinAcceptor
from rig.core.drivers.id003 import BillEventKind, BillValidator
from rig.core.protocols.cctalk import COIN_ACCEPTOR_ADDRESS, Header
from rig.core.protocols.id003 import Command
from rig.harness.bench import Figure


def _boot(bv: BillValidator, coins: CoinAcceptor, change: ChangeDispenser) -> None:
    bv.poll()
    bv.reset()
    bv.wait_for(BillEventKind.DISABLED)
    bv.enable()
    bv.wait_for(BillEventKind.IDLE)
    coins.enable()
    change.enable()


def pay_350_with_1000(unit: CashUnit, bv: BillValidator, change: ChangeDispenser) -> int:
    """One customer: a 1,000-yen bill for a 350-yen fee; returns the change taken (yen)."""
    fee = 350
    unit.customer.begin()
    outcome = unit.customer.insert_bill(1000)
    if not outcome.taken:
        raise RuntimeError(f"the acceptor did not take the bill: {outcome.result}")
    escrow = bv.wait_for(BillEventKind.ESCROW)
    assert escrow.denomination is not None
    if not change.can_pay(escrow.denomination - fee):
        bv.return_bill()
        return 0
    bv.stack()
    credited = bv.wait_for(BillEventKind.CREDITED)
    assert credited.denomination is not None
    result = change.pay(credited.denomination - fee)
    bv.wait_for(BillEventKind.IDLE)  # ready for the next customer
    taken = sum(item.value for item in unit.customer.take_change())
    if not result.complete or taken != 650:
        raise RuntimeError(f"payment went wrong: {result}, customer took {taken}")
    return taken


def measure(frames: int = 2000, payments: int = 20) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="cash-bench-") as tmp:
        unit = CashUnit(RigClock(), None, Path(tmp), faults={"hopper_coins": {500: 200}})
        endpoints = unit.start()
        bv = BillValidator.open(endpoints["bill_validator_port"])
        bus = CcTalkBus.open(endpoints["coin_port"])
        try:
            coins, change = CoinAcceptor(bus), ChangeDispenser.standard(bus)
            _boot(bv, coins, change)

            start = time.perf_counter()
            for _ in range(frames):
                bv.request(Command.STATUS_REQUEST)
            id003_rate = frames / (time.perf_counter() - start)

            start = time.perf_counter()
            for _ in range(frames):
                bus.request(COIN_ACCEPTOR_ADDRESS, Header.SIMPLE_POLL)
            cctalk_rate = frames / (time.perf_counter() - start)

            pay_350_with_1000(unit, bv, change)  # warm-up
            start = time.perf_counter()
            for _ in range(payments):
                pay_350_with_1000(unit, bv, change)
            payment_ms = (time.perf_counter() - start) * 1000 / payments
            if not unit.reconcile().ok:
                raise RuntimeError("audit does not reconcile after the benchmark")
        finally:
            bv.close()
            bus.close()
            unit.close()
    return [
        Figure("cash_frames_per_s_id003", id003_rate, "frames/s"),
        Figure("cash_frames_per_s_cctalk", cctalk_rate, "frames/s"),
        Figure("payment_350_with_1000_ms", payment_ms, "ms"),
    ]

"""Fixtures: a started cash unit on real ptys, and host drivers connected to it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from emulators.cash import CashUnit, FaultPlan
from rig.core.clock import RigClock
from rig.core.drivers.cctalk import CcTalkBus, ChangeDispenser, CoinAcceptor
from rig.core.drivers.id003 import BillValidator
from rig.core.evidence import EvidenceStore
from tests.cash.kiosk import PaymentKiosk

UnitFactory = Callable[..., CashUnit]


def _cash_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("cash-")}


@pytest.fixture(autouse=True)
def no_stray_threads() -> Iterator[None]:
    before = _cash_threads()
    yield
    assert _cash_threads() - before == set(), "a cash serving thread outlived its test"


@pytest.fixture
def make_unit(
    rig_clock: RigClock, evidence: EvidenceStore, tmp_path: Path
) -> Iterator[UnitFactory]:
    """Build and start cash units (closed at the end); same state dir unless told."""
    units: list[CashUnit] = []

    def factory(
        faults: FaultPlan | dict[str, object] | None = None,
        transport: str = "pty",
        state_dir: Path | None = None,
        **kwargs: object,
    ) -> CashUnit:
        unit = CashUnit(
            rig_clock,
            evidence,
            state_dir or tmp_path / "state",
            transport,
            faults=faults,
            **kwargs,  # type: ignore[arg-type]
        )
        units.append(unit)
        unit.start()
        return unit

    yield factory
    for unit in units:
        unit.close()


@pytest.fixture
def unit(make_unit: UnitFactory) -> CashUnit:
    return make_unit()


@pytest.fixture
def bv(unit: CashUnit) -> Iterator[BillValidator]:
    driver = BillValidator.open(unit.endpoints["bill_validator_port"])
    yield driver
    driver.close()


@pytest.fixture
def bus(unit: CashUnit) -> Iterator[CcTalkBus]:
    driver = CcTalkBus.open(unit.endpoints["coin_port"])
    yield driver
    driver.close()


@pytest.fixture
def coins(bus: CcTalkBus) -> CoinAcceptor:
    return CoinAcceptor(bus)


@pytest.fixture
def change(bus: CcTalkBus) -> ChangeDispenser:
    return ChangeDispenser.standard(bus)


@pytest.fixture
def kiosk(bv: BillValidator, coins: CoinAcceptor, change: ChangeDispenser) -> PaymentKiosk:
    k = PaymentKiosk(bv, coins, change)
    k.boot()
    return k

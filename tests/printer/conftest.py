"""Fixtures for the virtual printer: a started VirtualPrinter on loopback and an IPP client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.printer import VirtualPrinter
from rig.core.clock import RigClock
from rig.core.drivers.ipp_client import IppClient
from rig.core.evidence import EvidenceStore

SCALE = int(os.environ.get("RIG_FUZZ_SCALE", "1"))


@pytest.fixture
def printer(
    rig_clock: RigClock, evidence: EvidenceStore, tmp_path: Path
) -> Iterator[VirtualPrinter]:
    vp = VirtualPrinter(rig_clock, evidence, tmp_path / "capture", port=0)
    vp.start()
    yield vp
    vp.stop()


@pytest.fixture
def client(printer: VirtualPrinter) -> IppClient:
    return IppClient(printer.uri, timeout=15)


@pytest.fixture
def receipt_client(printer: VirtualPrinter) -> IppClient:
    return IppClient(printer.receipt_uri, timeout=15)

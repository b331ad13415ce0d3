"""The rig's pytest plugin (entry point `pytest11`): clock and evidence fixtures.

The conformance harness grows here: topology, plans, requirement markers, per-party fixtures.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rig.clock import RigClock
from rig.evidence import EvidenceStore

if TYPE_CHECKING:
    from rig.pcsc import ReaderStack, VirtualCardSlot

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rig", "konbini issuance rig")
    group.addoption(
        "--rig-evidence-dir",
        default=os.environ.get("RIG_EVIDENCE_DIR", "build/evidence"),
        help="folder for per-test evidence (default: build/evidence)",
    )


@pytest.fixture
def rig_clock() -> RigClock:
    """A fresh rig clock at the default start (a weekday morning, all services open)."""
    return RigClock()


@pytest.fixture
def evidence(request: pytest.FixtureRequest, rig_clock: RigClock) -> Iterator[EvidenceStore]:
    """The per-test evidence folder: build/evidence/<test id>/."""
    root = Path(request.config.getoption("--rig-evidence-dir"))
    folder = root / _SAFE.sub("_", request.node.nodeid)[:180]
    # a rerun replaces the evidence of the previous run of the same test
    shutil.rmtree(folder, ignore_errors=True)
    yield EvidenceStore(folder, now=rig_clock.now)


@pytest.fixture(scope="session")
def reader_stack() -> ReaderStack:
    """The rig's PC/SC stack (pcscd + vpcd readers), brought up once per process."""
    from rig.pcsc import ReaderStack

    return ReaderStack.shared()


@pytest.fixture
def card_slot(reader_stack: ReaderStack, evidence: EvidenceStore) -> Iterator[VirtualCardSlot]:
    """A virtual reader of this test's own; APDUs are traced to the test's evidence."""
    slot = reader_stack.acquire()
    slot.evidence = evidence
    try:
        yield slot
    finally:
        slot.release()

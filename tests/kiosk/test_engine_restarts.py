"""The kiosk engine survives whatever a reset meets: devices that will not open, a thread that
does not end in time. A stand-alone kiosk is reset once per scenario; one bad reset must never
leave it dead for the rest of a plan (it once did: 137 failures after one failed reset)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import cast

import pytest

from emulators.kiosk.audit import AuditLog
from emulators.kiosk.engine import EngineStopped, KioskEngine
from emulators.kiosk.flow import KioskFlow
from rig.core.clock import RigClock


class _Flow:
    """Just enough of a KioskFlow for the engine."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seq = 0

    def tick(self) -> None:
        pass


def _engine(tmp_path: Path) -> KioskEngine:
    return KioskEngine(AuditLog(tmp_path / "audit.jsonl", RigClock()))


def test_a_start_whose_devices_fail_leaves_the_next_start_working(tmp_path: Path) -> None:
    engine = _engine(tmp_path)

    def devices_fail() -> KioskFlow:
        raise OSError("the cash unit's port is not there")

    with pytest.raises(OSError):
        engine.start(devices_fail)
    assert not engine.running
    with pytest.raises(EngineStopped):
        engine.call(lambda flow: None)
    engine.stop()  # what the next reset does first
    engine.start(lambda: cast(KioskFlow, _Flow("second")))
    try:
        assert engine.running
        assert engine.call(lambda flow: cast(_Flow, flow).name) == "second"
    finally:
        engine.stop()


def test_a_thread_that_outlives_its_stop_never_serves_the_next_flow(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    engine.start(lambda: cast(KioskFlow, _Flow("old")))
    release = threading.Event()
    stuck = threading.Event()

    def hang(flow: KioskFlow) -> None:
        stuck.set()
        release.wait(30)  # a device call that does not come back in time

    engine.post(hang)
    assert stuck.wait(10)
    engine.stop(timeout=0.1)  # gives up waiting; the old thread is still inside `hang`
    engine.start(lambda: cast(KioskFlow, _Flow("new")))
    try:
        release.set()
        served = {engine.call(lambda flow: cast(_Flow, flow).name) for _ in range(50)}
        assert served == {"new"}
    finally:
        engine.stop()

"""The rig clock: deterministic calendar time that only moves when a scenario moves it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from rig.core.clock import JST, ClockDriver, ClockError, ClockStopped, RigClock
from rig.core.evidence import EvidenceStore


def test_starts_where_told_and_stays_put() -> None:
    start = datetime(2026, 12, 28, 22, 59, 59, tzinfo=JST)
    clock = RigClock(start)
    assert clock.now() == start
    assert clock.now() == start  # no wall time leaks in


def test_advance_and_set_run_due_events_in_order() -> None:
    clock = RigClock(datetime(2026, 12, 28, 22, 0, tzinfo=JST))
    fired: list[tuple[str, datetime]] = []
    clock.call_at(
        datetime(2026, 12, 28, 23, 0, tzinfo=JST), lambda: fired.append(("close", clock.now()))
    )
    clock.call_later(60, lambda: fired.append(("minute", clock.now())))
    clock.advance(30)
    assert fired == []
    clock.set(datetime(2026, 12, 28, 22, 59, 59, tzinfo=JST))
    assert [name for name, _ in fired] == ["minute"]
    clock.advance(timedelta(seconds=1))
    assert fired[-1] == ("close", datetime(2026, 12, 28, 23, 0, tzinfo=JST))


def test_cancelled_callback_never_runs() -> None:
    clock = RigClock()
    fired: list[int] = []
    proc = clock.call_later(10, lambda: fired.append(1))
    clock.advance(5)
    clock.cancel(proc)
    clock.advance(10)
    assert fired == []


def test_time_zone_is_tokyo_even_for_utc_input() -> None:
    clock = RigClock(datetime.fromisoformat("2026-01-03T21:30:00+00:00"))
    assert clock.now().utcoffset() == timedelta(hours=9)
    assert clock.now().hour == 6 and clock.now().day == 4


@pytest.mark.parametrize("bad", [datetime(2026, 1, 1, 0, 0)])
def test_naive_datetimes_are_refused(bad: datetime) -> None:
    with pytest.raises(ClockError, match="naive"):
        RigClock(bad)


def test_never_moves_backwards() -> None:
    clock = RigClock()
    clock.advance(10)
    with pytest.raises(ClockError):
        clock.set(clock.epoch)
    with pytest.raises(ClockError):
        clock.advance(-1)


def test_realtime_mode_scales_wall_time() -> None:
    import time

    clock = RigClock(realtime_factor=0.001)  # 1 simulated second = 1 ms of wall time
    began = time.monotonic()
    clock.advance(200)
    elapsed = time.monotonic() - began
    assert clock.seconds() == 200
    assert elapsed >= 0.15  # it really waited (lower bound only: a loaded machine is slower)


def test_clock_driver_moves_a_realtime_clock_and_fires_events() -> None:
    import threading

    from rig.core.clock import ClockDriver

    clock = RigClock(realtime_factor=0.01)  # 100 simulated seconds per wall second
    fired = threading.Event()
    clock.call_later(20, fired.set)
    driver = ClockDriver(clock, step=1.0)
    driver.start()
    try:
        assert fired.wait(5), "the event 20 simulated seconds ahead never fired"
    finally:
        driver.stop()
    assert clock.seconds() >= 20


def test_clock_driver_needs_a_realtime_clock() -> None:
    from rig.core.clock import ClockDriver

    with pytest.raises(ClockError):
        ClockDriver(RigClock())


def test_a_failing_callback_stops_the_clock_loudly(tmp_path: Path) -> None:
    evidence = EvidenceStore(tmp_path, now=None)
    clock = RigClock(evidence=evidence)
    fired: list[str] = []

    def broken() -> None:
        raise KeyError("no such kiosk")

    clock.call_later(10, broken)
    clock.call_later(20, lambda: fired.append("later"))
    with pytest.raises(ClockStopped, match="broken raised KeyError"):
        clock.advance(30)
    assert fired == []  # the clock stopped at the failure, not after it
    # whoever uses the clock next hears of it too
    with pytest.raises(ClockStopped):
        clock.advance(1)
    with pytest.raises(ClockStopped):
        clock.call_later(1, lambda: None)
    [record] = evidence.records("rig-clock")
    assert record["event"] == "callback_failed" and "no such kiosk" in record["error"]


def test_a_failing_callback_stops_a_driven_clock_instead_of_killing_it_silently() -> None:
    clock = RigClock(realtime_factor=0.001)
    driver = ClockDriver(clock, step=0.5)
    clock.call_later(1, lambda: 1 / 0)
    driver.start()
    deadline = time.monotonic() + 5
    while clock.failure is None and time.monotonic() < deadline:
        time.sleep(0.01)
    driver.stop()
    assert isinstance(clock.failure, ClockStopped)
    with pytest.raises(ClockStopped, match="ZeroDivisionError"):
        clock.set(clock.now() + timedelta(seconds=5))

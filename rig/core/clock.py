"""The rig clock: calendar time (Asia/Tokyo) on a simpy discrete-event environment.

Every emulator gets a `RigClock` injected and asks it for the time; none reads the wall
clock for a business decision (service hours, closures, time-outs, OCSP freshness).
Scenarios set and advance it deterministically. A scaled real-time mode drives soak runs
and live vendor sessions.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import simpy
import simpy.rt

from rig.core.evidence import EvidenceStore

JST = ZoneInfo("Asia/Tokyo")

#: The default start of a scenario: a weekday morning inside every service window.
DEFAULT_START = datetime(2026, 11, 24, 10, 0, 0, tzinfo=JST)


class ClockError(ValueError):
    """Raised for an impossible clock operation (naive datetime, moving backwards)."""


class ClockStopped(RuntimeError):
    """A scheduled callback raised: the clock stopped there (logged, recorded in the evidence)
    and says so to whoever uses it next (advance, set, scheduling) rather than dying silently."""


_log = logging.getLogger("rig.core.clock")
#: The evidence channel of the clock's own failures.
CHANNEL = "rig-clock"


def as_jst(when: datetime) -> datetime:
    """`when` in Asia/Tokyo; a naive datetime is a ClockError (its zone would be a guess)."""
    if when.tzinfo is None:
        raise ClockError(f"naive datetime {when!r}: give a time zone (rig.core.clock.JST)")
    return when.astimezone(JST)


class RigClock:
    """Calendar time over a simpy environment; `env.now` counts seconds since `epoch`.

    Thread-safe: emulator servers read `now()` from their own threads while the scenario
    advances the clock. Callbacks scheduled with `call_at` run in the thread that advances.
    """

    def __init__(
        self,
        start: datetime = DEFAULT_START,
        *,
        realtime_factor: float | None = None,
        evidence: EvidenceStore | None = None,
    ):
        self.epoch = as_jst(start)
        self._lock = threading.RLock()
        #: where a failed callback is recorded (the world sets it once its store exists)
        self.evidence = evidence
        self.failure: ClockStopped | None = None
        self.realtime_factor = realtime_factor
        if realtime_factor is None:
            self.env: simpy.Environment = simpy.Environment()
        else:
            # factor = wall seconds per simulated second (0.001 → a simulated week in ~10 min)
            self.env = simpy.rt.RealtimeEnvironment(factor=realtime_factor, strict=False)
        #: called with the new time after every move (an external party that follows it)
        self._listeners: list[Callable[[datetime], None]] = []

    # -- reading -----------------------------------------------------------------------
    def now(self) -> datetime:
        """The current calendar time in Asia/Tokyo."""
        return self.epoch + timedelta(seconds=float(self.env.now))

    def seconds(self) -> float:
        """Simulated seconds since the clock's epoch (monotonic)."""
        return float(self.env.now)

    def to_seconds(self, when: datetime) -> float:
        return (as_jst(when) - self.epoch).total_seconds()

    # -- moving ------------------------------------------------------------------------
    def advance(self, delta: float | timedelta) -> datetime:
        """Run every event due in the next `delta` and stop there."""
        secs = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if secs < 0:
            raise ClockError("the rig clock never moves backwards")
        with self._lock:
            self.raise_if_stopped()
            target = self.env.now + secs
            if secs > 0:
                self.env.run(until=target)
            # simpy stops before events due exactly at `until`; a closing time of 23:00:00
            # must already have happened when the clock reads 23:00:00
            while self.env.peek() <= target:
                self.env.step()
        now = self.now()
        for listener in list(self._listeners):
            listener(now)  # outside the lock: a listener may talk to a server
        return now

    def skip(self, delta: float) -> datetime:
        """Jump forward by `delta` seconds at once, even on a real-time clock (test-mode time):
        events due on the way run now, and a real-time clock then goes on from there."""
        if delta < 0:
            raise ClockError("the rig clock never moves backwards")
        with self._lock:
            if isinstance(self.env, simpy.rt.RealtimeEnvironment):
                # as if `delta` seconds of wall time had already passed: nothing sleeps
                self.env.real_start -= delta * self.env.factor
            return self.advance(delta)

    def on_move(self, listener: Callable[[datetime], None]) -> None:
        """Call `listener(now)` after every `advance`/`set` (e.g. to move an external server's
        test-mode clock with the rig's); an exception it raises reaches the mover."""
        self._listeners.append(listener)

    def raise_if_stopped(self) -> None:
        """Raise `ClockStopped` if a scheduled callback has failed."""
        if self.failure is not None:
            raise self.failure

    def set(self, when: datetime) -> datetime:
        """Move forward to `when`, running every event due on the way."""
        target = self.to_seconds(when)
        if target < self.env.now:
            raise ClockError(
                f"cannot move back from {self.now().isoformat()} to {when.isoformat()}"
            )
        return self.advance(target - float(self.env.now))

    # -- scheduling --------------------------------------------------------------------
    def call_at(self, when: datetime, callback: Callable[[], Any]) -> simpy.Process:
        """Run `callback` when the clock reaches `when` (immediately if already past)."""
        delay = max(0.0, self.to_seconds(when) - float(self.env.now))
        return self.call_later(delay, callback)

    def call_later(self, delay: float, callback: Callable[[], Any]) -> simpy.Process:
        def proc() -> Generator[simpy.Event, Any, None]:
            try:
                yield self.env.timeout(delay)
            except simpy.Interrupt:
                return
            try:
                callback()
            except Exception as exc:
                # raised out of env.step(): the advance that ran it stops here, loudly
                raise self._stop_on(callback, exc) from exc

        with self._lock:
            self.raise_if_stopped()
            return self.env.process(proc())

    def _stop_on(self, callback: Callable[[], Any], exc: Exception) -> ClockStopped:
        name = getattr(callback, "__qualname__", repr(callback))
        failure = ClockStopped(
            f"the rig clock stopped at {self.now().isoformat()}: callback {name} raised {exc!r}"
        )
        self.failure = failure
        _log.error("%s", failure, exc_info=exc)
        if self.evidence is not None:
            self.evidence.record(CHANNEL, "callback_failed", callback=name, error=repr(exc)[:500])
        return failure

    def process(self, generator: Generator[simpy.Event, Any, Any]) -> simpy.Process:
        """Start a simpy process (e.g. a traffic generator for a soak run)."""
        with self._lock:
            self.raise_if_stopped()
            return self.env.process(generator)

    def cancel(self, process: simpy.Process) -> None:
        with self._lock:
            if process.is_alive:
                process.interrupt("cancelled")

    def __repr__(self) -> str:
        return f"RigClock({self.now().isoformat()})"


class ClockDriver:
    """Moves a real-time `RigClock` forward in the background (rig serve, live sessions, soak).

    With a RealtimeEnvironment each step sleeps until wall time catches up (scaled by the
    clock's factor), so scheduled events fire at their scaled wall times.
    """

    def __init__(self, clock: RigClock, step: float = 0.05):
        if clock.realtime_factor is None:
            raise ClockError("a ClockDriver needs a real-time clock (realtime_factor)")
        self.clock = clock
        self.step = step
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rig-clock", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop driving. Never raises (it runs in teardown paths); a failed callback has
        already been logged and recorded, and `clock.raise_if_stopped()` reports it."""
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.clock.advance(self.step)
            except ClockStopped:
                return  # recorded and logged by the clock; stop() and every user re-raise it

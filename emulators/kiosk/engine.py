"""The kiosk's engine: one thread that owns the flow, fed by a queue.

Robot requests (HTTP threads), rig-clock time-outs (the thread that advances the clock) and
the device-polling tick all run here, one at a time and in arrival order. A scenario that
advances the rig clock and then reads the screen therefore always sees the kiosk's
reaction to the time-out: the time-out was queued before the read.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from emulators.kiosk.audit import AuditLog
from emulators.kiosk.flow import KioskFlow, RobotActionError
from rig.core.protocols.robot import ScreenView

T = TypeVar("T")
_STOP = object()


class EngineStopped(RuntimeError):
    """The engine is not running (stopped, or never started)."""


class KioskEngine:
    def __init__(self, audit: AuditLog, tick_s: float = 0.01):
        self.audit = audit
        self.tick_s = tick_s
        self.flow: KioskFlow | None = None
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()
        self._published_seq = -1
        self.faults = 0
        #: one per started flow: timers armed by an earlier flow never reach a later one
        self._generation = 0

    # -- life cycle ----------------------------------------------------------------------
    def start(self, make_flow: Callable[[], KioskFlow]) -> None:
        ready: Future[None] = Future()
        self._generation += 1  # before the flow exists: it may arm a timer while it is built
        # A queue of its own for each engine thread: a stop whose thread did not end in time,
        # or whose flow never started, must not leave its stop mark for the next thread (it
        # would end that thread at once and leave the kiosk dead after a reset).
        self._queue = queue.Queue()
        work = self._queue

        def run() -> None:
            try:
                self.flow = make_flow()
            except BaseException as exc:
                ready.set_exception(exc)
                return
            ready.set_result(None)
            self._loop(work)

        self._thread = threading.Thread(target=run, name="kiosk-engine", daemon=True)
        self._thread.start()
        ready.result(timeout=30)
        self._publish()

    def stop(self, timeout: float = 10.0) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(_STOP)  # the stopped thread's own queue (start makes a new one)
        thread.join(timeout)
        with self._changed:
            self._changed.notify_all()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- calls into the engine thread ------------------------------------------------------
    def call(self, fn: Callable[[KioskFlow], T], timeout: float = 60.0) -> T:
        """Run `fn(flow)` in the engine thread and return its result (or raise its error)."""
        if not self.running:
            raise EngineStopped("the kiosk engine is not running")
        future: Future[T] = Future()
        self._queue.put((fn, future))
        return future.result(timeout=timeout)

    def post(self, fn: Callable[[KioskFlow], object]) -> None:
        """Queue `fn(flow)` without waiting (rig-clock callbacks use this)."""
        self._queue.put((fn, None))

    def arm_timeout(self, delay: float, token: int, clock: Any) -> None:
        # A timer outlives a reset (`POST /reset` starts a new flow whose tokens count from
        # the start again): it may only ever reach the flow that armed it.
        generation = self._generation

        def fire(flow: KioskFlow) -> None:
            if self._generation == generation:
                flow.timeout(token)

        clock.call_later(delay, lambda: self.post(fire))

    # -- reading ---------------------------------------------------------------------------
    def view(self) -> ScreenView:
        return self.call(lambda flow: flow.view)

    def wait_view(self, after: int, wait_s: float) -> ScreenView:
        """The current screen once its seq exceeds `after`, or at `wait_s` seconds."""
        view = self.view()  # also a barrier: everything queued before is done
        deadline = time.monotonic() + wait_s
        while view.seq <= after:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            with self._changed:
                if self._published_seq <= after:
                    self._changed.wait(min(remaining, 0.5))
            view = self.view()
        return view

    # -- the loop --------------------------------------------------------------------------
    def _loop(self, work: queue.Queue[Any]) -> None:
        flow = self.flow
        assert flow is not None
        next_tick = time.monotonic()
        while True:
            timeout = max(0.0, next_tick - time.monotonic())
            try:
                item = work.get(timeout=timeout)
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            if item is not None:
                fn, future = item
                try:
                    result = fn(flow)
                except Exception as exc:
                    if not isinstance(exc, RobotActionError):
                        self._fault(flow, exc)
                    if future is not None:
                        future.set_exception(exc)
                else:
                    if future is not None:
                        future.set_result(result)
            if time.monotonic() >= next_tick:
                try:
                    flow.tick()
                except Exception as exc:
                    self._fault(flow, exc)
                next_tick = time.monotonic() + self.tick_s
            self._publish()

    def _fault(self, flow: KioskFlow, exc: BaseException) -> None:
        """An unexpected error: log its kind (never its text: it might carry data), recover."""
        self.faults += 1
        self.audit.record("kiosk_fault", error=type(exc).__name__)
        try:
            flow.recover()
        except Exception as again:
            self.audit.record("kiosk_fault", error=f"recover:{type(again).__name__}")

    def _publish(self) -> None:
        flow = self.flow
        if flow is None:
            return
        if flow.seq != self._published_seq:
            with self._changed:
                self._published_seq = flow.seq
                self._changed.notify_all()

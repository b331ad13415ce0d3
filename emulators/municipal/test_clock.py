"""The emulated issuance server's test-mode clock, for `rig municipal-server` (stand-alone).

`HoldableClock` runs in real time like the stand-alone server's own clock, and can be held at
any time, earlier ones included (a scenario's world starts at its own morning after another
left the server in the year-end closure). The server only ever asks its clock `now()`.
`clock_routes` serves it as rig/core/protocols/municipal_clock.py describes.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from rig.core.clock import JST, RigClock
from rig.core.https import Problem, Request
from rig.core.protocols.municipal_clock import SetTestClock, TestClockState

#: where the stand-alone server serves it, under its API base
TEST_CLOCK_PATH = "/test/clock"


def invalid_request(errors: list[dict[str, Any]]) -> Problem:
    """The test-mode routes' 422: every failing field and why, on one line."""
    detail = "; ".join(f"{'.'.join(e['loc']) or 'body'}: {e['msg']}" for e in errors)
    return Problem(422, "invalid_request", "Invalid request", detail)


class HoldableClock(RigClock):
    """A real-time rig clock whose `now()` can be held at a time the rig sets."""

    def __init__(self, start: datetime, *, realtime_factor: float = 1.0):
        super().__init__(start, realtime_factor=realtime_factor)
        self._held: datetime | None = None
        self._hold_lock = threading.Lock()

    def now(self) -> datetime:
        with self._hold_lock:
            held = self._held
        return held if held is not None else super().now()

    def hold(self, when: datetime | None) -> None:
        with self._hold_lock:
            self._held = when.astimezone(JST) if when is not None else None

    @property
    def held(self) -> bool:
        return self._held is not None


def clock_routes(clock: HoldableClock, evidence: Any = None) -> dict[str, Any]:
    """`GET` and `PUT` handlers of the test-mode clock route."""

    def state() -> dict[str, Any]:
        return TestClockState(now=clock.now(), held=clock.held).model_dump(mode="json")

    def put(r: Request) -> dict[str, Any]:
        wanted = r.parsed(SetTestClock, invalid_request)
        clock.hold(wanted.now)
        if evidence is not None:
            evidence.record("municipal-test-clock", "set", now=state()["now"], held=clock.held)
        return state()

    return {"GET": lambda _r: state(), "PUT": put}

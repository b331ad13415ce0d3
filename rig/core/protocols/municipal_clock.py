"""The issuance server's optional test-mode clock (docs/municipal-server-testing.md).

An external issuance server keeps its own time, so the rig cannot take it into its hours,
closed days or maintenance windows. A server that declares a test-mode clock (the test-data
file's `test_clock`: a path under the topology's `url`, e.g. ``/test/clock``) serves, over the
same mutual-TLS LGWAN link the rig's centre uses:

| method | path | body → answer |
|---|---|---|
| GET | ``{test_clock}`` | → `TestClockState` |
| PUT | ``{test_clock}`` | `SetTestClock` → `TestClockState` |

``{"now": T}`` sets the server's clock to T and holds it there (every decision of the server,
its service hours, closures, maintenance, "today" for its registry, takes T) until the next
PUT; ``{"now": null}`` returns it to its own time. The rig holds the server at its own rig
clock's time for every scenario and moves it with the rig clock.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SetTestClock(_Model):
    #: The time to hold the server's clock at; None: back to the server's own time.
    now: AwareDatetime | None


class TestClockState(_Model):
    now: datetime
    #: True while the clock is held at a time the rig set.
    held: bool


__all__ = ["SetTestClock", "TestClockState"]

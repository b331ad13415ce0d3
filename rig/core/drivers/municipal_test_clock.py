"""The rig's side of an issuance server's test-mode clock (rig/core/protocols/municipal_clock.py).

`MunicipalTestClock.follow(clock)` holds the server at the rig clock's time and moves it with
every `advance`/`set` of the rig clock, so the hours, closure and maintenance scenarios judge
an external server as they judge the emulated one. A server that declared the clock and then
misbehaves (an error, an answer that is not a `TestClockState`, a clock that does not show the
time set) fails the scenario with `ExtensionError` naming the route and what came back.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rig.core.clock import RigClock
from rig.core.drivers.kiosk_extensions import ExtensionError, extension_call
from rig.core.https import https_client
from rig.core.pki.tls import CertPair
from rig.core.protocols.municipal_clock import SetTestClock, TestClockState

#: how far the time the server shows may be from the time set (its own rounding)
TOLERANCE_S = 1.0


class MunicipalTestClock:
    def __init__(self, base_url: str, path: str, *, client: CertPair, server_ca: Path):
        self.base_url = base_url.rstrip("/")
        self.path = path
        self.http = https_client(self.base_url, client=client, server_ca=server_ca)

    def close(self) -> None:
        self.http.close()

    def _put(self, when: datetime | None) -> TestClockState:
        body = SetTestClock(now=when).model_dump(mode="json")
        route = f"PUT {self.base_url}{self.path} {body}"
        state = extension_call(self.http, "PUT", self.path, body, TestClockState, route=route)
        off = when is not None and abs((state.now - when).total_seconds()) > TOLERANCE_S
        if when is not None and (off or not state.held):
            raise ExtensionError(
                f"{route}: the server's clock shows {state.now.isoformat()} "
                f"(held: {state.held}), not {when.isoformat()}"
            )
        return state

    def hold(self, when: datetime) -> TestClockState:
        """Set the server's clock to `when` and hold it there."""
        return self._put(when)

    def release(self) -> TestClockState:
        """Back to the server's own time."""
        return self._put(None)

    def stop(self) -> None:
        """Release the server to its own time (best effort: the scenario is judged) and close."""
        try:
            self.release()
        except ExtensionError:
            pass
        finally:
            self.close()

    def follow(self, clock: RigClock) -> None:
        """Hold the server at `clock`'s time now and after every move of `clock`."""
        self.hold(clock.now())

        def moved(now: datetime) -> None:
            self.hold(now)

        clock.on_move(moved)


__all__ = ["TOLERANCE_S", "MunicipalTestClock"]

"""The contract every party of the rig keeps, emulated or a stand-in for a device under test.

A party (当事者: the municipal issuance server, the JPKI OCSP responder, the issuance centre,
the printer, the cash unit, the verification site, the kiosk) is built, started once,
asked for its health and stopped once:

- `start()` starts serving and returns its endpoints (URLs, URIs or serial port paths)
  under fixed keys, documented per party in docs/architecture.md;
- `health()` says whether it is up now: cheap, no side effect, never raises;
- `stop()` stops it (threads joined, files closed); a second call does nothing;
- `faults` is the object a scenario schedules the party's faults on, or None.

It lives in the core so that an emulator may name it without importing the harness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class PartyHealth:
    """Up or down, and why (empty when up)."""

    up: bool
    reason: str = ""

    @classmethod
    def ok(cls) -> PartyHealth:
        return cls(True)

    @classmethod
    def down(cls, reason: str) -> PartyHealth:
        return cls(False, reason)


@runtime_checkable
class Party(Protocol):
    """start → endpoints, health, stop, faults (docs/architecture.md, "The party lifecycle")."""

    @property
    def faults(self) -> object | None: ...

    def start(self) -> dict[str, str]: ...

    def stop(self) -> None: ...

    def health(self) -> PartyHealth: ...


class Listening(Protocol):
    """What `served_health` reads of an HTTP server (rig.core.transport.HttpServer)."""

    @property
    def running(self) -> bool: ...

    @property
    def listening(self) -> bool: ...


def served_health(server: Listening) -> PartyHealth:
    """The health of a party that is one HTTP server: started, and its socket listening."""
    if not server.running:
        return PartyHealth.down("not started, or stopped")
    if not server.listening:
        return PartyHealth.down("not listening (a fault plan took it down)")
    return PartyHealth.ok()

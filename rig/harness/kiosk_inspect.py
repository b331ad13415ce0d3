"""What the kiosk under test logged and keeps, whichever kiosk it is.

A few scenarios judge what never crosses the kiosk's interfaces: its own record of money it
took (PRIV-002, ISO-004) and whether a PIN, a My Number or a name lies anywhere on its storage
(PRIV-009). The reference kiosk in the rig's process is read directly (its audit log, its
state folder); an external kiosk answers through the robot protocol's event-log and storage
extensions (`GET /events`, `GET /storage`, docs/kiosk-adapter.md). The pytest plugin reports
a scenario marked `kiosk_inspect(*parts)` "not applicable" when the kiosk declares none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rig.core.protocols.robot import KioskExtensions

if TYPE_CHECKING:
    from rig.harness.world import World

#: what a scenario may ask to inspect: the event log, the storage
PARTS = ("events", "storage")


def missing(declared: KioskExtensions | None, wanted: list[str]) -> list[str]:
    """Which of `wanted` (parts of PARTS) the kiosk's `/info` does not declare."""
    offered = set()
    if declared is not None:
        offered = {part for part in PARTS if getattr(declared, part) is not None}
    return sorted(set(wanted) - offered)


def kiosk_events(world: World) -> list[dict[str, Any]]:
    """The kiosk's own log, oldest first: each entry's `event` and its fields."""
    if world.reference_kiosk is not None:
        entries: list[dict[str, Any]] = world.kiosk.audit.entries()
        return entries
    return [{"at": e.at, "event": e.event, **e.data} for e in world.customer.extensions().events()]


def kiosk_stored(world: World) -> dict[str, bytes]:
    """Every file the kiosk keeps (path → content)."""
    if world.reference_kiosk is not None:
        root = world.kiosk.state_dir
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }
    return world.customer.extensions().stored()


__all__ = ["PARTS", "kiosk_events", "kiosk_stored", "missing"]

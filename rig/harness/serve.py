"""`rig serve`: the emulated world for a kiosk under test, until interrupted.

Starts every emulated party (by default without the reference kiosk: the vendor's kiosk is
the device under test), inserts the requested cards into rig readers, writes the endpoints
as JSON and prints them, and runs the rig clock in real time until SIGINT or SIGTERM.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from rig.core.clock import JST, ClockDriver, RigClock
from rig.core.evidence import EvidenceStore
from rig.core.pcsc import ReaderStack, VirtualCardSlot
from rig.harness.config import TopologyError, load_topology
from rig.harness.kiosk_kit import kiosk_card_slot
from rig.harness.world import CITY, World, WorldOptions


def serve(
    *,
    topology_path: str | None,
    endpoints_file: Path | None,
    work_dir: Path,
    cards: list[str],
    with_kiosk: bool,
    factor: float,
    start: datetime | None,
    out: Callable[[str], None] = print,
    stop: threading.Event | None = None,
    unit: str | None = None,
) -> int:
    topology = load_topology(topology_path)
    if topology.kiosk.units or unit is not None:
        if unit is None:
            names = ", ".join(u.name for u in topology.kiosk.units)
            raise TopologyError(f"{topology.name}: several kiosk units ({names}): pick one, --unit")
        topology = topology.unit_topology(unit)
    external_kiosk = topology.external_kiosk is not None
    if external_kiosk and (with_kiosk or len(cards) > 1):
        raise TopologyError(
            f"{topology.name}: the kiosk is external: no reference kiosk, and one card (in "
            "its reader)"
        )
    stop = stop or threading.Event()
    # wall time only picks the starting instant of a live session; decisions use the rig clock
    begin = start or topology.clock.start or datetime.now(JST).replace(microsecond=0)
    clock = RigClock(begin, realtime_factor=factor)
    evidence = EvidenceStore(work_dir / "evidence", now=clock.now)
    stack: ReaderStack | None = None
    slots: list[VirtualCardSlot] = []
    if external_kiosk and cards:
        stack = ReaderStack.shared()
        slots = [kiosk_card_slot(topology, stack)]  # the card goes into the kiosk's reader
    elif cards or with_kiosk:
        stack = ReaderStack.shared()
        slots = [stack.acquire() for _ in range(max(1, len(cards)))]
    # with an external kiosk in the topology the world serves the kiosk kit's fixed
    # addresses and TLS files, so a kiosk configured for `rig run` works here unchanged
    world = World.build(
        work_dir / "world",
        clock,
        evidence,
        slot=slots[0] if slots else None,
        options=WorldOptions(with_kiosk=with_kiosk, topology=topology),
    )
    driver = ClockDriver(clock)
    driver.start()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        endpoints: dict[str, Any] = {
            **world.endpoints,
            "ca_bundle": str(Path(world.tls.server_ca).resolve()),
            "kiosk_client_cert": str(Path(world.tls.kiosk_client("kiosk-0001").cert).resolve()),
            "kiosk_client_key": str(Path(world.tls.kiosk_client("kiosk-0001").key).resolve()),
            "municipal_urls": world.municipal_urls,
            "rig_clock_start": begin.isoformat(),
            "rig_clock_factor": factor,
            "cards": [],
        }
        if slots:
            endpoints["vpcd_host"] = slots[0].vicc_host
            endpoints["readers"] = [
                {"reader_name": s.reader_name, "vpcd_port": s.port} for s in slots
            ]
        for slot, profile in zip(slots, cards, strict=False):
            card = world.issue_card(profile, world.resident(CITY))
            slot.insert(card.card, mute=card.mute)
            endpoints["cards"].append(
                {"profile": profile, "reader_name": slot.reader_name, "pins": card.pins}
            )
        text = json.dumps(endpoints, indent=2, ensure_ascii=False)
        if endpoints_file is not None:
            endpoints_file.parent.mkdir(parents=True, exist_ok=True)
            endpoints_file.write_text(text + "\n", encoding="utf-8")
        out(text)
        out("rig serve: running; Ctrl-C to stop")
        stop.wait()
        out("rig serve: stopping")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        driver.stop()
        world.stop()
        for slot in slots[1:]:
            slot.remove()
        for slot in slots:
            slot.release()
    return 0

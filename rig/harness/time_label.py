"""How a scenario's time-outs ran, for the report: on the rig clock, in test-mode time, or
in real time.

`Customer.wait` records each wait in the evidence (channel `kiosk-time`, rig/core/drivers/
robot_client.py); the pytest plugin turns them into one label per scenario, e.g.
"test-mode time: 3 waits, 302 s skipped", shown by the report next to the scenario.
"""

from __future__ import annotations

from rig.core.drivers.robot_client import TIME_CHANNEL
from rig.core.evidence import EvidenceStore

#: label of each mode, and what happened to the seconds waited
MODES = {
    "real-time": ("real time", "waited"),
    "test-mode": ("test-mode time", "skipped"),
    "rig-clock": ("rig clock", "advanced"),
}


def time_label(store: EvidenceStore) -> str:
    """One line per scenario ("" when it waited for nothing)."""
    totals: dict[str, list[float]] = {}
    for record in store.records(TIME_CHANNEL):
        if record.get("event") == "wait":
            totals.setdefault(str(record.get("mode")), []).append(float(record["seconds"]))
    parts = []
    for mode, (name, verb) in MODES.items():
        waits = totals.get(mode)
        if waits:
            count = f"{len(waits)} wait{'s' if len(waits) > 1 else ''}"
            parts.append(f"{name}: {count}, {sum(waits):g} s {verb}")
    return "; ".join(parts)


__all__ = ["MODES", "time_label"]

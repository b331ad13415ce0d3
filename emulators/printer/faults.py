"""Printer faults as data, applied now or scheduled on the rig clock.

A fault is a small frozen record (so a topology file or a scenario can list them):

- ``paper-out``: the input tray holds ``sheets`` more sheets (0 = empty now); the job stops
  with ``media-empty`` when they run out and resumes after ``refill``.
- ``jam``: the ``sheets``-th sheet fed from now jams (1 = the next one); the job stops with
  ``media-jam`` until ``clear_jam``, then that sheet is printed again.
- ``door-open``: the job stops with ``door-open`` until the door is closed.
- ``offline``: the printer answers nothing on the wire and prints nothing.
- ``toner-low``: a warning reason only; printing goes on.

``duration_s`` (rig seconds) makes door-open, offline and toner-low clear themselves;
``at`` (a rig-clock time) delays the fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from emulators.printer.model import PrinterDevice
from rig.core.clock import RigClock


class FaultKind(StrEnum):
    PAPER_OUT = "paper-out"
    JAM = "jam"
    DOOR_OPEN = "door-open"
    OFFLINE = "offline"
    TONER_LOW = "toner-low"


class FaultError(ValueError):
    """A fault description that cannot be applied (missing or impossible fields)."""


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    sheets: int | None = None
    at: datetime | None = None
    duration_s: float | None = None

    def __post_init__(self) -> None:
        if self.kind == FaultKind.PAPER_OUT and (self.sheets is None or self.sheets < 0):
            raise FaultError("paper-out needs sheets >= 0 (sheets left before empty)")
        if self.kind == FaultKind.JAM and (self.sheets is None or self.sheets < 1):
            raise FaultError("jam needs sheets >= 1 (which sheet from now jams)")
        if self.duration_s is not None and self.duration_s <= 0:
            raise FaultError("duration_s must be positive")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """From a topology or scenario mapping: {kind, sheets?, at?, duration_s?}."""
        try:
            kind = FaultKind(str(data["kind"]))
        except (KeyError, ValueError) as exc:
            known = ", ".join(k.value for k in FaultKind)
            raise FaultError(f"fault kind must be one of {known}") from exc
        at = data.get("at")
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        sheets = data.get("sheets")
        duration = data.get("duration_s")
        return cls(
            kind,
            None if sheets is None else int(sheets),
            at,
            None if duration is None else float(duration),
        )


class FaultControl:
    """Applies faults to one printer, immediately or at a rig-clock time."""

    def __init__(self, device: PrinterDevice, clock: RigClock):
        self.device = device
        self.clock = clock

    def schedule(self, fault: Fault) -> None:
        if fault.at is None:
            self.apply(fault)
        else:
            self.device.record("fault-scheduled", kind=fault.kind.value, at=fault.at)
            self.clock.call_at(fault.at, lambda: self.apply(fault))

    def apply(self, fault: Fault) -> None:
        dev = self.device
        dev.record("fault", kind=fault.kind.value, sheets=fault.sheets, duration_s=fault.duration_s)
        if fault.kind == FaultKind.PAPER_OUT:
            dev.set_paper(fault.sheets or 0)
        elif fault.kind == FaultKind.JAM:
            dev.arm_jam(fault.sheets or 1)
        else:
            # door-open, offline and toner-low: a condition on, and off after `duration_s`
            switch = {
                FaultKind.DOOR_OPEN: dev.set_door_open,
                FaultKind.OFFLINE: dev.set_offline,
                FaultKind.TONER_LOW: dev.set_toner_low,
            }[fault.kind]
            switch(True)
            if fault.duration_s is not None:
                self.clock.call_later(fault.duration_s, lambda: switch(False))

    # operator actions, named as a store clerk would do them
    def refill(self, sheets: int | None = None) -> None:
        self.device.refill(sheets)

    def clear_jam(self) -> None:
        self.device.clear_jam()

    def close_door(self) -> None:
        self.device.set_door_open(False)

    def go_online(self) -> None:
        self.device.set_offline(False)

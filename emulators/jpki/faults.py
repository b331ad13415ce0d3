"""Faults of the JPKI OCSP responder, as data, in windows on the rig clock."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class OcspFault(StrEnum):
    DOWN = "down"  # connection refused: the listening socket is closed
    SLOW = "slow"  # answers later than the centre's time-out
    MALFORMED = "malformed"  # a body that is not an OCSPResponse
    STALE = "stale"  # thisUpdate/nextUpdate in the past
    WRONG_SIGNER = "wrong_signer"  # signed by a key the issuer never authorised
    TRY_LATER = "try_later"  # responseStatus tryLater


@dataclass(frozen=True)
class FaultWindow:
    fault: OcspFault
    start: datetime
    end: datetime

    def covers(self, when: datetime) -> bool:
        return self.start <= when < self.end


def _when(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


class OcspFaultPlan:
    """Which fault is active when; asked per request (and by the server for `down`)."""

    def __init__(self, windows: list[FaultWindow] | None = None, slow_seconds: float = 3.0):
        self._windows = list(windows or [])
        self._lock = threading.Lock()
        self.slow_seconds = slow_seconds

    @classmethod
    def from_data(cls, items: list[dict[str, Any]], slow_seconds: float = 3.0) -> OcspFaultPlan:
        """From YAML-like data: [{fault: down, start: <iso>, end: <iso>}, ...]."""
        windows = []
        for item in items:
            fault = OcspFault(item["fault"])
            start, end = (_when(item[k]) for k in ("start", "end"))
            if start.tzinfo is None or end.tzinfo is None or end <= start:
                raise ValueError(f"fault window needs aware start < end: {item!r}")
            windows.append(FaultWindow(fault, start, end))
        return cls(windows, slow_seconds)

    def add(self, fault: OcspFault, start: datetime, end: datetime) -> FaultWindow:
        window = FaultWindow(fault, start, end)
        with self._lock:
            self._windows.append(window)
        return window

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()

    def windows(self) -> list[FaultWindow]:
        with self._lock:
            return list(self._windows)

    def active(self, now: datetime) -> OcspFault | None:
        with self._lock:
            for window in self._windows:
                if window.covers(now):
                    return window.fault
        return None

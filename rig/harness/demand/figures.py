"""Figures from a model run: totals, the peak hour, the 99th-percentile hour, per-day series.

A run is one `Result` (a municipality) or several (the nation's tiers); the series are summed
bin by bin. The 99th-percentile hour is taken over the clock hours in which the service was
open at all (a quiet 06:00-07:00 counts; 02:00 does not): the load the issuance server (for a
municipality) or the centre (for the nation) must carry in all but the busiest 1% of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rig.harness.demand.grid import BINS_PER_DAY, Floats, YearGrid
from rig.harness.demand.model import Result
from rig.harness.demand.params import CERT_TYPES, CertType

BINS_PER_HOUR = 12


@dataclass
class Series:
    grid: YearGrid
    issued: Floats  # applicants served per bin
    copies: Floats
    refused: Floats
    came_back: Floats
    returned: Floats
    open_any: np.ndarray[Any, np.dtype[np.bool_]]
    copies_by_type: dict[CertType, Floats]
    back_after_period: float

    @classmethod
    def of(cls, results: list[Result]) -> Series:
        grid = results[0].grid
        n = grid.n_bins
        by_type: dict[CertType, Floats] = {}
        open_any = np.zeros(n, dtype=bool)
        for r in results:
            for k, arr in r.copies.items():
                by_type[k] = by_type.get(k, np.zeros(n)) + arr
            for mask in r.setup.allowed.values():
                open_any |= mask
        ordered = {k: by_type[k] for k in CERT_TYPES if k in by_type}

        def total(what: str) -> Floats:
            return np.asarray(sum(r.series(what) for r in results), dtype=np.float64)

        return cls(
            grid, total("issued"), total("copies"), total("refused"), total("came_back"),
            total("returned"), open_any, ordered, sum(r.back_after_period for r in results),
        )  # fmt: skip

    def hourly(self, arr: Floats) -> Floats:
        return np.asarray(arr.reshape(-1, BINS_PER_HOUR).sum(axis=1), dtype=np.float64)

    def daily(self, arr: Floats) -> Floats:
        return np.asarray(arr.reshape(-1, BINS_PER_DAY).sum(axis=1), dtype=np.float64)

    def open_hours(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        return np.asarray(self.open_any.reshape(-1, BINS_PER_HOUR).any(axis=1))

    def hour_of_day_profile(self) -> Floats:
        """Mean applicants served per clock hour (0-23) over the days the service was open."""
        per_hour = self.hourly(self.issued).reshape(-1, 24)
        open_days = self.daily(self.open_any.astype(np.float64)) > 0
        return np.asarray(per_hour[open_days].mean(axis=0), dtype=np.float64)

    def monthly_copies(self) -> dict[str, dict[CertType, float]]:
        months: dict[str, dict[CertType, float]] = {}
        for k, arr in self.copies_by_type.items():
            for d, value in zip(self.grid.days, self.daily(arr), strict=True):
                month = months.setdefault(f"{d.year}-{d.month:02d}", {})
                month[k] = month.get(k, 0.0) + float(value)
        return months


def load_figures(s: Series) -> dict[str, Any]:
    hourly_req = s.hourly(s.issued)
    hourly_copies = s.hourly(s.copies)
    open_h = s.open_hours()
    profile = s.hour_of_day_profile()
    peak = int(np.argmax(profile))
    busiest = int(np.argmax(hourly_req))
    p99_req = float(np.percentile(hourly_req[open_h], 99)) if open_h.any() else 0.0
    p99_copies = float(np.percentile(hourly_copies[open_h], 99)) if open_h.any() else 0.0
    return {
        "peak_hour": {
            "hour_of_day": f"{peak:02d}:00-{peak + 1:02d}:00",
            "mean_requests_in_it": round(float(profile[peak]), 3),
            "busiest_hour_of_year": s.grid.time_of(busiest * BINS_PER_HOUR).isoformat(),
            "requests_in_busiest_hour": round(float(hourly_req[busiest]), 3),
        },
        "p99_hour": {
            "definition": "99th percentile of applicants served per clock hour, over the hours "
            "the service was open at all",
            "requests_per_hour": round(p99_req, 3),
            "copies_per_hour": round(p99_copies, 3),
            "requests_per_second": round(p99_req / 3600, 6),
            "open_hours_in_year": int(open_h.sum()),
        },
    }

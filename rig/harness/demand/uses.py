"""The model's uses inside the rig: soak arrivals, a day's trace for `rig load`, settlement.

- `arrival_times`: when the soak's customers arrive (rig/harness/soak.py), drawn from the model's
  time shape on the centre's calendar instead of uniformly.
- `day_trace`: one simulated day of a chosen municipality, every kiosk visit with its time,
  certificate, card and copies, and its rate per time step: what a load campaign replays.
- `expected_settlement` / `settlement_of`: the totals a month's settlement should show
  (copies, fees, 123-yen commission, net), for the settlement scenarios.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from rig.core.calendar import Incident
from rig.core.clock import JST
from rig.harness.demand.costs import COMMISSION_PER_COPY_YEN
from rig.harness.demand.grid import BIN_S, BINS_PER_DAY, YearGrid, base_weights
from rig.harness.demand.model import Applicant, Population, Setup, aggregate, simulate
from rig.harness.demand.params import (
    CERT_TYPES,
    DEFAULTS_FILE,
    AuthMethod,
    CertType,
    Municipality,
    load_defaults,
    load_municipality,
)


def fiscal_year_of(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def arrival_times(
    rng: random.Random,
    count: int,
    start: datetime,
    days: int,
    *,
    margin_s: int = 600,
    defaults: Path = DEFAULTS_FILE,
) -> list[datetime]:
    """`count` arrival times in [start, start + days), sorted, drawn from the model's shape.

    Only the centre's open time counts (06:30-23:00, not 12/29-1/3), and none falls within
    `margin_s` of closing, so a customer has time to finish. The period must lie in one
    fiscal year. `rng` decides everything, so a seeded soak stays reproducible.
    """
    grid = YearGrid(fiscal_year_of(start.astimezone(JST).date()))
    lo, hi = grid.bin_of(start), grid.bin_of(start + timedelta(days=days))
    if lo < 0 or hi > grid.n_bins or hi <= lo:
        raise ValueError(f"{start.isoformat()} + {days} days is not inside one fiscal year")
    w = base_weights(grid, load_defaults(defaults).time) * grid.centre_open
    closing = grid.minute_of_day + BIN_S // 60 > (23 * 60) - margin_s // 60
    w = np.where(closing, 0.0, w)[lo:hi]
    if w.sum() <= 0:
        raise ValueError("the period has no open time")
    bins = rng.choices(range(lo, hi), weights=w.tolist(), k=count)
    return sorted(grid.time_of(b + rng.random()) for b in bins)


@dataclass(frozen=True)
class Visit:
    """One kiosk visit: a first attempt, or a return after a refusal."""

    offset_s: float  # seconds since 00:00 of the traced day
    at: str  # ISO 8601, JST
    certificate: CertType
    auth: AuthMethod
    copies: int
    served: bool


@dataclass(frozen=True)
class DayTrace:
    municipality: str
    day: date
    seed: int
    visits: list[Visit]

    def rate_series(self, step_s: int = 60) -> list[tuple[str, float]]:
        """(start of step, visits per second in that step) over the day's 24 hours."""
        if step_s <= 0 or 86400 % step_s:
            raise ValueError("step_s must divide a day")
        counts = np.zeros(86400 // step_s)
        for v in self.visits:
            counts[int(v.offset_s // step_s)] += 1
        midnight = datetime.combine(self.day, datetime.min.time(), JST)
        return [
            ((midnight + timedelta(seconds=i * step_s)).isoformat(), float(c) / step_s)
            for i, c in enumerate(counts)
        ]

    def as_dict(self, step_s: int = 60) -> dict[str, Any]:
        return {
            "municipality": self.municipality,
            "day": self.day.isoformat(),
            "seed": self.seed,
            "visits": [asdict(v) for v in self.visits],
            "rate_step_s": step_s,
            "rate_per_s": self.rate_series(step_s),
        }

    def write(self, path: Path, step_s: int = 60) -> Path:
        path.write_text(json.dumps(self.as_dict(step_s), ensure_ascii=False, indent=1))
        return path


def _municipality(m: Municipality | Path) -> Municipality:
    return m if isinstance(m, Municipality) else load_municipality(m)


def day_trace(
    municipality: Municipality | Path,
    day: date,
    *,
    seed: int = 0,
    incidents: Sequence[Incident] = (),
) -> DayTrace:
    """Every kiosk visit on `day` for `municipality`, simulated per applicant (simpy).

    Visits are first attempts and returns after a refusal that fall on that day, sorted by
    time; `served` is False for a refused visit (closed, outage, maintenance).
    """
    m = _municipality(municipality)
    if fiscal_year_of(day) != m.fiscal_year:
        raise ValueError(f"{day} is not in FY{m.fiscal_year} of {m.name}")
    setup = Setup.build(Population.of(m), list(incidents))
    grid = setup.grid
    lo = grid.bin_of(datetime.combine(day, datetime.min.time(), JST))
    hi = lo + BINS_PER_DAY
    run = simulate(setup, seed=seed, start_bin=lo, end_bin=hi, keep_records=True)

    def visit(a: Applicant, t: float, served: bool) -> Visit:
        at = grid.time_of(t / BIN_S).isoformat()
        return Visit(t - lo * BIN_S, at, a.certificate, a.auth, a.copies, served)

    visits = []
    for a in run.records or []:
        visits.append(visit(a, a.at_s, a.outcome == "issued"))
        if a.returned_at_s is not None and a.returned_at_s < hi * BIN_S:
            visits.append(visit(a, a.returned_at_s, True))
    return DayTrace(m.name, day, seed, sorted(visits, key=lambda v: v.offset_s))


@dataclass(frozen=True)
class Settlement:
    copies: int
    fees_yen: int
    commission_yen: int
    net_yen: int  # fees minus commission: what the municipality invoices (seed II.7.4)


def settlement_of(items: Iterable[tuple[CertType, int]], fees: dict[CertType, int]) -> Settlement:
    """The settlement of issued (certificate, copies) pairs at the given fees per copy."""
    copies = fees_yen = 0
    for cert, n in items:
        copies += n
        fees_yen += n * fees[cert]
    commission = COMMISSION_PER_COPY_YEN * copies
    return Settlement(copies, fees_yen, commission, fees_yen - commission)


def expected_settlement(municipality: Municipality | Path, month: str) -> Settlement:
    """The expected settlement of one month ("YYYY-MM") of the municipality's fiscal year."""
    m = _municipality(municipality)
    result = aggregate(Setup.build(Population.of(m)))
    first = date.fromisoformat(f"{month}-01")
    if fiscal_year_of(first) != m.fiscal_year:
        raise ValueError(f"{month} is not in FY{m.fiscal_year}")
    days = [
        i for i, d in enumerate(result.grid.days) if (d.year, d.month) == (first.year, first.month)
    ]
    lo, hi = days[0] * BINS_PER_DAY, (days[-1] + 1) * BINS_PER_DAY
    items = [
        (k, round(float(result.copies[k][lo:hi].sum()))) for k in CERT_TYPES if k in result.copies
    ]
    return settlement_of(items, m.fees)

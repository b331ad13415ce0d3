"""The fiscal year as 5-minute bins: base demand weights and the open/closed masks.

A fiscal year (年度) runs 1 April 00:00 to 1 April 00:00 JST. Every quantity of the model lives
on this grid: the latent intensity's shape (month, moving-season peak, weekday or holiday, hour
of day), the centre's hours (06:30-23:00, closed 12/29-1/3, seed II.7.1), the municipality's
own calendar, and unplanned incidents. Windows must fall on the 5-minute step, so a bin is
either wholly open or wholly closed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property

import numpy as np
import numpy.typing as npt

from rig.core.calendar import (
    CENTRE_CLOSE,
    CENTRE_OPEN,
    Incident,
    IncidentKind,
    in_year_end_closure,
    is_business_day,
)
from rig.core.clock import JST
from rig.core.holidays import is_national_holiday
from rig.harness.demand.params import (
    KOSEKI_GROUP,
    MONTHS,
    STEP_MINUTES,
    WEEKDAYS,
    CertType,
    Municipality,
    TimeShape,
)

BIN_S = STEP_MINUTES * 60
BINS_PER_DAY = 24 * 60 // STEP_MINUTES
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

#: authentication groups: an outage of the JPKI centre stops JPKI, not カードAP
AUTH_GROUP = {"my_number_card": "jpki", "smartphone": "jpki", "card_ap": "card_ap"}
GROUPS = ("jpki", "card_ap")
#: which groups an incident stops; printer and cash faults are one kiosk's, not demand's
BLOCKS: dict[IncidentKind, tuple[str, ...]] = {
    IncidentKind.JPKI_OUTAGE: ("jpki",),
    IncidentKind.LGWAN_OUTAGE: GROUPS,
    IncidentKind.MUNICIPAL_MAINTENANCE: GROUPS,
    IncidentKind.CENTRE_MAINTENANCE: GROUPS,
}


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


@dataclass(frozen=True)
class YearGrid:
    fiscal_year: int

    @cached_property
    def start(self) -> datetime:
        return datetime(self.fiscal_year, 4, 1, tzinfo=JST)

    @cached_property
    def days(self) -> list[date]:
        first, end = self.start.date(), date(self.fiscal_year + 1, 4, 1)
        return [first + timedelta(days=i) for i in range((end - first).days)]

    @property
    def n_bins(self) -> int:
        return len(self.days) * BINS_PER_DAY

    @cached_property
    def minute_of_day(self) -> Ints:
        return np.tile(np.arange(BINS_PER_DAY, dtype=np.int64) * STEP_MINUTES, len(self.days))

    def time_of(self, b: int | float) -> datetime:
        return self.start + timedelta(seconds=float(b) * BIN_S)

    def bin_of(self, when: datetime) -> int:
        return int((when.astimezone(JST) - self.start).total_seconds() // BIN_S)

    def day_mask(self, keep: list[bool]) -> Bools:
        return np.repeat(np.asarray(keep, dtype=bool), BINS_PER_DAY)

    def window(self, start_min: int, end_min: int) -> Bools:
        mod = self.minute_of_day
        return (mod >= start_min) & (mod < end_min)

    @cached_property
    def centre_hours(self) -> Bools:
        """06:30-23:00 every day: where latent demand lives (closed days included)."""
        return self.window(_minutes(CENTRE_OPEN), _minutes(CENTRE_CLOSE))

    @cached_property
    def year_end(self) -> Bools:
        return self.day_mask([in_year_end_closure(d) for d in self.days])

    @cached_property
    def centre_open(self) -> Bools:
        return self.centre_hours & ~self.year_end

    def span(self, start: datetime, end: datetime) -> Bools:
        """Bins inside [start, end), clipped to the year."""
        mask = np.zeros(self.n_bins, dtype=bool)
        lo = max(0, math.ceil((start.astimezone(JST) - self.start).total_seconds() / BIN_S))
        hi = min(self.n_bins, math.ceil((end.astimezone(JST) - self.start).total_seconds() / BIN_S))
        if hi > lo:
            mask[lo:hi] = True
        return mask


def _day_bins(hourly: dict[int, float]) -> Floats:
    """A day's bins weighted by the hour they fall in (0 in hours the table leaves out)."""
    return np.repeat([float(hourly.get(h, 0.0)) for h in range(24)], 60 // STEP_MINUTES)


def base_weights(grid: YearGrid, shape: TimeShape) -> Floats:
    """The latent intensity's shape per bin (relative; zero outside 06:30-23:00)."""
    peak = shape.moving_peak
    month, day = (int(x) for x in peak.centre.split("-"))
    daily = []
    for d in grid.days:
        # the nearest occurrence: April's days sit just after the spring that ended FY-1
        distance = min(abs((d - date(d.year + k, month, day)).days) for k in (-1, 0, 1))
        bump = 1.0 + peak.amplitude * math.exp(-0.5 * (distance / peak.width_days) ** 2)
        if is_national_holiday(d) or in_year_end_closure(d):
            kind = shape.holiday_weight
        else:
            kind = shape.weekday_weights[WEEKDAYS[d.weekday()]]
        daily.append(shape.month_weights[MONTHS[d.month]] * bump * kind)
    off = grid.day_mask([not is_business_day(d) for d in grid.days])
    on_day, off_day = _day_bins(shape.hourly_weekday), _day_bins(shape.hourly_day_off)
    hour_w = np.where(off, np.tile(off_day, len(grid.days)), np.tile(on_day, len(grid.days)))
    day_w = np.repeat(np.asarray(daily, dtype=np.float64), BINS_PER_DAY)
    return np.asarray(day_w * hour_w * grid.centre_hours, dtype=np.float64)


def municipal_open(grid: YearGrid, m: Municipality | None, cert: CertType) -> Bools:
    """Where `cert` can be issued by the municipality's regular calendar (known to residents)."""
    mask = grid.centre_open.copy()
    if m is None:
        return mask
    closed_days = set(m.closed_dates)
    keep = [
        d not in closed_days
        and not (m.closed_on_national_holidays and is_national_holiday(d))
        and WEEKDAYS[d.weekday()] not in m.closed_weekdays
        for d in grid.days
    ]
    mask &= grid.day_mask(keep)
    mask &= grid.window(_minutes(m.service_hours.start), _minutes(m.service_hours.end))
    for window in m.maintenance:
        mask &= ~grid.span(window.start, window.end)
    if cert in KOSEKI_GROUP and m.koseki_hours is not None:
        kh = m.koseki_hours
        mask &= grid.window(_minutes(kh.start), _minutes(kh.end))
        if kh.weekdays_only:
            mask &= grid.day_mask([is_business_day(d) for d in grid.days])
    return mask


def incident_blocks(grid: YearGrid, incidents: list[Incident]) -> dict[str, Bools]:
    """Per authentication group, the bins an unplanned incident stops."""
    blocked = {g: np.zeros(grid.n_bins, dtype=bool) for g in GROUPS}
    for incident in incidents:
        span = grid.span(incident.start, incident.end)
        for group in BLOCKS[incident.kind]:
            blocked[group] |= span
    return blocked


def next_allowed(allowed: Bools) -> Ints:
    """For each bin, the first allowed bin at or after it (len(allowed) when none is left)."""
    n = len(allowed)
    idx = np.where(allowed, np.arange(n, dtype=np.int64), n)
    return np.minimum.accumulate(idx[::-1])[::-1].astype(np.int64)

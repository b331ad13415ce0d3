"""The service calendar on the rig clock: the centre's hours and the scheduled incidents.

Centre (証明書交付センター) hours (seed II.7.1): 6:30–23:00 every day, closed from
29 December to 3 January. Each municipality's own narrower calendar lives with the municipal
issuance server (emulators/municipal); incidents (JPKI outage, LGWAN outage, municipal
maintenance, printer and cash faults) are loaded from YAML here and handed to the parties.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from rig.core.clock import JST, as_jst
from rig.core.holidays import is_national_holiday
from rig.core.model_errors import read_yaml

CENTRE_OPEN = time(6, 30)
CENTRE_CLOSE = time(23, 0)


class CentreClosure(StrEnum):
    BEFORE_HOURS = "before-hours"  # 0:00–6:30
    AFTER_HOURS = "after-hours"  # 23:00–24:00
    YEAR_END = "year-end-closure"  # 12/29–1/3


def in_year_end_closure(day: date) -> bool:
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def is_business_day(day: date) -> bool:
    """Not a 行政機関の休日 (a day the municipal offices close): Mon–Fri, not a national
    holiday, not the year-end closure. The municipal server's 開庁日 and the demand model's
    days off both follow it."""
    return day.weekday() < 5 and not is_national_holiday(day) and not in_year_end_closure(day)


@dataclass(frozen=True)
class CentreHours:
    """When the centre serves kiosks; `closure(now)` says why not, or None when open."""

    opens: time = CENTRE_OPEN
    closes: time = CENTRE_CLOSE

    def closure(self, when: datetime) -> CentreClosure | None:
        local = as_jst(when)
        if in_year_end_closure(local.date()):
            return CentreClosure.YEAR_END
        if local.time() < self.opens:
            return CentreClosure.BEFORE_HOURS
        if local.time() >= self.closes:
            return CentreClosure.AFTER_HOURS
        return None

    def is_open(self, when: datetime) -> bool:
        return self.closure(when) is None

    def next_opening(self, when: datetime) -> datetime:
        """The first instant at or after `when` at which the centre is open."""
        local = as_jst(when)
        if self.is_open(local):
            return local
        day = local.date()
        if local.time() >= self.opens:
            day += timedelta(days=1)
        while in_year_end_closure(day):
            day += timedelta(days=1)
        return datetime.combine(day, self.opens, JST)

    def next_closing(self, when: datetime) -> datetime:
        """When an open centre closes next (the kiosk's cut-off for a transaction)."""
        local = as_jst(when)
        return datetime.combine(local.date(), self.closes, JST)


class IncidentKind(StrEnum):
    JPKI_OUTAGE = "jpki-outage"  # the JPKI centre's OCSP responder is down
    LGWAN_OUTAGE = "lgwan-outage"  # the centre cannot reach municipalities
    MUNICIPAL_MAINTENANCE = "municipal-maintenance"
    PRINTER_FAULT = "printer-fault"
    CASH_FAULT = "cash-fault"
    CENTRE_MAINTENANCE = "centre-maintenance"
    CENTRE_OUTAGE = "centre-outage"  # the centre itself fails: nothing new starts


@dataclass(frozen=True)
class Incident:
    kind: IncidentKind
    start: datetime
    end: datetime
    #: a municipality code, a kiosk id, or empty for "every"
    target: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def covers(self, when: datetime, target: str = "") -> bool:
        hits_target = not self.target or not target or self.target == target
        return hits_target and self.start <= as_jst(when) < self.end


class CalendarError(ValueError):
    """A malformed incident schedule; the message names the entry and the problem."""


def _parse_when(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise CalendarError(f"{where}: not an ISO 8601 date-time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise CalendarError(f"{where}: {value!r} has no UTC offset (write +09:00)")
    return parsed.astimezone(JST)


@dataclass
class IncidentSchedule:
    incidents: list[Incident] = field(default_factory=list)

    @classmethod
    def from_data(cls, data: Any, source: str = "<data>") -> IncidentSchedule:
        if data is None:
            return cls()
        items = data.get("incidents") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise CalendarError(f"{source}: expected a mapping with a list under 'incidents'")
        incidents = []
        for i, item in enumerate(items):
            where = f"{source}: incidents[{i}]"
            if not isinstance(item, dict):
                raise CalendarError(f"{where}: expected a mapping")
            unknown = set(item) - {"kind", "start", "end", "target", "params", "note"}
            if unknown:
                raise CalendarError(f"{where}: unknown keys {sorted(unknown)}")
            try:
                kind = IncidentKind(str(item.get("kind")))
            except ValueError as exc:
                kinds = ", ".join(k.value for k in IncidentKind)
                raise CalendarError(f"{where}: kind must be one of {kinds}") from exc
            start = _parse_when(item.get("start"), f"{where}.start")
            end = _parse_when(item.get("end"), f"{where}.end")
            if end <= start:
                raise CalendarError(f"{where}: end {end.isoformat()} is not after start")
            params = item.get("params") or {}
            if not isinstance(params, dict):
                raise CalendarError(f"{where}.params: expected a mapping")
            incidents.append(
                Incident(
                    kind, start, end, str(item.get("target") or ""), params, item.get("note", "")
                )
            )
        return cls(incidents)

    @classmethod
    def load(cls, path: Path) -> IncidentSchedule:
        """The schedule in a YAML file; CalendarError when it cannot be read or is malformed."""
        return cls.from_data(read_yaml(Path(path), CalendarError), str(path))

    def active(self, kind: IncidentKind, when: datetime, target: str = "") -> Incident | None:
        return next((i for i in self.incidents if i.kind is kind and i.covers(when, target)), None)

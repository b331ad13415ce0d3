"""Service-hour rules (seed II.7.1): the municipality refuses issuance outside its own hours.

Checked in this order, the first match giving the refusal: year-end closure (12/29–1/3),
closed date / national holiday / closed weekday, maintenance window, service hours, and for
戸籍 types (戸籍証明書, 戸籍の附票の写し) the 戸籍 hours. Times come from the rig clock.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from emulators.municipal.config import WEEKDAYS, MunicipalityConfig
from emulators.municipal.reasons import Refusal, RefusalCode
from rig.core.calendar import in_year_end_closure, is_business_day
from rig.core.clock import JST
from rig.core.holidays import is_national_holiday

KOSEKI_TYPES = frozenset({"koseki", "fuhyo"})


def add_business_days(day: date, count: int) -> date:
    current = day
    while count > 0:
        current += timedelta(days=1)
        if is_business_day(current):
            count -= 1
    return current


def in_maintenance(config: MunicipalityConfig, when: datetime) -> bool:
    if any(window.start <= when < window.end for window in config.maintenance):
        return True
    for rec in config.recurring_maintenance:
        # a window may start the day before and run past midnight
        for offset in (0, 1):
            day = when.date() - timedelta(days=offset)
            if WEEKDAYS[day.weekday()] not in rec.weekdays:
                continue
            start = datetime.combine(day, rec.start, tzinfo=JST)
            end_day = day if rec.end > rec.start else day + timedelta(days=1)
            end = datetime.combine(end_day, rec.end, tzinfo=JST)
            if start <= when < end:
                return True
    return False


def check_open(config: MunicipalityConfig, when: datetime, cert_type: str | None = None) -> None:
    """Raise `Refusal` when `config` does not issue (`cert_type`, or anything) at `when`."""
    local = when.astimezone(JST)
    day = local.date()
    if in_year_end_closure(day):
        raise Refusal(RefusalCode.YEAR_END_CLOSURE)
    if day in config.closed_dates:
        raise Refusal(RefusalCode.CLOSED_DAY, f"{config.name} is closed on {day.isoformat()}")
    if config.closed_on_national_holidays and is_national_holiday(day):
        raise Refusal(RefusalCode.CLOSED_DAY, f"{day.isoformat()} is a national holiday")
    if WEEKDAYS[day.weekday()] in config.closed_weekdays:
        raise Refusal(
            RefusalCode.CLOSED_DAY, f"{config.name} is closed on {WEEKDAYS[day.weekday()]}"
        )
    if in_maintenance(config, local):
        raise Refusal(RefusalCode.MAINTENANCE)
    if not config.service_hours.contains(local.time()):
        hours = config.service_hours
        raise Refusal(
            RefusalCode.OUTSIDE_SERVICE_HOURS,
            f"service hours are {hours.start:%H:%M}-{hours.end:%H:%M}",
        )
    if cert_type in KOSEKI_TYPES and config.koseki_hours is not None:
        kh = config.koseki_hours
        if (kh.weekdays_only and not is_business_day(day)) or not kh.contains(local.time()):
            raise Refusal(
                RefusalCode.KOSEKI_OUTSIDE_HOURS,
                f"戸籍 certificates: {'weekdays ' if kh.weekdays_only else ''}"
                f"{kh.start:%H:%M}-{kh.end:%H:%M}",
            )

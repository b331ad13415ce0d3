"""Japanese national holidays (国民の祝日, 振替休日, 国民の休日) for the years the rig covers.

Core data shared by the municipal emulator (closed days, 戸籍 weekdays) and the demand model
(holiday weighting): one file, rig/core/national_holidays.yaml, listing every holiday of each year
named under `years`.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

import yaml

HOLIDAYS_FILE = Path(__file__).with_name("national_holidays.yaml")


@cache
def _load() -> tuple[frozenset[int], frozenset[date]]:
    data = yaml.safe_load(HOLIDAYS_FILE.read_text(encoding="utf-8"))
    years = frozenset(int(y) for y in data["years"])
    days = frozenset(date.fromisoformat(str(d)) for d in data["holidays"])
    return years, days


def national_holidays() -> frozenset[date]:
    """Every national holiday the rig knows about."""
    return _load()[1]


def covered_years() -> frozenset[int]:
    """The calendar years whose holidays are all listed."""
    return _load()[0]


def is_national_holiday(day: date) -> bool:
    return day in _load()[1]

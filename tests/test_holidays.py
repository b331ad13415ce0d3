"""The shared national-holiday table (rig/core/national_holidays.yaml) and its coverage."""

from __future__ import annotations

from datetime import date

from rig.core.holidays import covered_years, is_national_holiday, national_holidays


def test_every_covered_year_has_its_holidays() -> None:
    days = national_holidays()
    assert covered_years() == frozenset(range(2023, 2028))
    for year in covered_years():
        count = sum(1 for d in days if d.year == year)
        assert 16 <= count <= 22, (year, count)  # 16 fixed holidays plus substitutes
        assert date(year, 1, 1) in days and date(year, 11, 3) in days


def test_substitute_holidays_and_working_days() -> None:
    assert is_national_holiday(date(2024, 2, 12))  # 振替休日 for Sunday 11 February
    assert is_national_holiday(date(2023, 1, 2))  # 振替休日 for Sunday 1 January
    assert is_national_holiday(date(2026, 9, 22))  # 国民の休日 between two holidays
    assert not is_national_holiday(date(2026, 6, 10))

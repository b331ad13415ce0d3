"""The centre's service hours at their exact boundaries, and the incident schedule."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from rig.core.calendar import (
    CalendarError,
    CentreClosure,
    CentreHours,
    IncidentKind,
    IncidentSchedule,
)
from rig.core.clock import JST


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


@pytest.mark.parametrize(
    ("when", "closure"),
    [
        ("2026-11-24T06:29:59", CentreClosure.BEFORE_HOURS),
        ("2026-11-24T06:30:00", None),
        ("2026-11-24T22:59:59", None),
        ("2026-11-24T23:00:00", CentreClosure.AFTER_HOURS),
        ("2026-12-28T22:59:59", None),
        ("2026-12-28T23:00:00", CentreClosure.AFTER_HOURS),
        ("2026-12-29T12:00:00", CentreClosure.YEAR_END),
        ("2027-01-01T10:00:00", CentreClosure.YEAR_END),
        ("2027-01-03T22:00:00", CentreClosure.YEAR_END),
        ("2027-01-04T06:29:59", CentreClosure.BEFORE_HOURS),
        ("2027-01-04T06:30:00", None),
    ],
)
def test_centre_hours(when: str, closure: CentreClosure | None) -> None:
    assert CentreHours().closure(at(when)) is closure


def test_next_opening_skips_the_year_end_closure() -> None:
    hours = CentreHours()
    assert hours.next_opening(at("2026-12-28T23:00:00")) == at("2027-01-04T06:30:00")
    assert hours.next_opening(at("2026-11-24T05:00:00")) == at("2026-11-24T06:30:00")
    assert hours.next_opening(at("2026-11-24T23:30:00")) == at("2026-11-25T06:30:00")
    assert hours.next_opening(at("2026-11-24T12:00:00")) == at("2026-11-24T12:00:00")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        CentreHours().closure(datetime(2026, 1, 1))


def test_incident_schedule_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "incidents.yaml"
    path.write_text(
        "incidents:\n"
        "  - {kind: jpki-outage, start: '2026-11-24T10:00:00+09:00', end: '2026-11-24T11:30:00+09:00'}\n"
        "  - {kind: municipal-maintenance, target: '993026', start: '2026-11-25T17:30:00+09:00',"
        " end: '2026-11-26T09:00:00+09:00', note: 定期保守}\n",
        encoding="utf-8",
    )
    schedule = IncidentSchedule.load(path)
    outage = IncidentKind.JPKI_OUTAGE
    assert schedule.active(outage, at("2026-11-24T09:59:59")) is None
    assert schedule.active(outage, at("2026-11-24T10:00:00")) is not None
    assert schedule.active(outage, at("2026-11-24T11:30:00")) is None
    maint = IncidentKind.MUNICIPAL_MAINTENANCE
    assert schedule.active(maint, at("2026-11-25T18:00:00"), target="993026") is not None
    assert schedule.active(maint, at("2026-11-25T18:00:00"), target="991015") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("incidents: 3", "list under 'incidents'"),
        (
            "incidents: [{kind: meteor, start: '2026-01-01T00:00:00+09:00', end: '2026-01-02T00:00:00+09:00'}]",
            "kind must be one of",
        ),
        (
            "incidents: [{kind: jpki-outage, start: '2026-01-01T00:00:00', end: '2026-01-02T00:00:00+09:00'}]",
            "no UTC offset",
        ),
        (
            "incidents: [{kind: jpki-outage, start: '2026-01-02T00:00:00+09:00', end: '2026-01-01T00:00:00+09:00'}]",
            "is not after start",
        ),
        (
            "incidents: [{kind: jpki-outage, start: yesterday, end: '2026-01-01T00:00:00+09:00'}]",
            "not an ISO 8601",
        ),
        ("incidents: [{kind: jpki-outage, begin: '2026-01-01T00:00:00+09:00'}]", "unknown keys"),
        ("incidents: [: :", "not valid YAML"),
    ],
)
def test_malformed_schedules_get_specific_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarError, match=message):
        IncidentSchedule.load(path)

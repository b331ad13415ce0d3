"""Service hours at the centre's exact boundaries and the year-end closure (seed II.7.1)."""

from __future__ import annotations

from datetime import datetime

import pytest

from rig.core.clock import JST
from rig.core.drivers.centre_client import CentreApiError
from rig.harness.world import World
from scenarios.support import jpki_refusal


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


def try_login(backend: World) -> CentreApiError | None:
    return jpki_refusal(backend, backend.issue_card("mynumber-valid", backend.resident()))


@pytest.mark.requirement("HOURS-001", "HOURS-009")
@pytest.mark.smoke
@pytest.mark.parametrize(
    ("when", "open_"),
    [
        ("2026-11-25T06:29:59", False),
        ("2026-11-25T06:30:00", True),
        ("2026-11-25T22:59:59", True),
        ("2026-11-25T23:00:00", False),
    ],
)
def test_centre_hours_at_the_exact_boundaries(backend: World, when: str, open_: bool) -> None:
    backend.clock.set(at(when))
    refusal = try_login(backend)
    if open_:
        assert refusal is None
    else:
        assert refusal is not None and refusal.status == 503
        assert "closed" in str(refusal.problem.get("code", ""))


@pytest.mark.requirement("HOURS-002")
@pytest.mark.parametrize(
    ("when", "open_"),
    [
        ("2026-12-28T22:59:59", True),
        ("2026-12-29T06:30:00", False),  # the first instant of service hours of the closure
        ("2026-12-29T10:00:00", False),
        ("2027-01-01T12:00:00", False),
        ("2027-01-03T22:00:00", False),
        ("2027-01-03T22:59:59", False),  # its last instant of service hours
        ("2027-01-04T06:29:59", False),
        ("2027-01-04T06:30:00", True),
    ],
)
def test_year_end_closure(backend: World, when: str, open_: bool) -> None:
    backend.clock.set(at(when))
    refusal = try_login(backend)
    assert (refusal is None) is open_, refusal

"""Sheets made once per session and shared read-only by the anti-forgery tests."""

from __future__ import annotations

import pytest

from tests.antiforgery.helpers import Sheet, make_a4_sheet, make_sheet


@pytest.fixture(scope="session")
def sheet() -> Sheet:
    return make_sheet(0)


@pytest.fixture(scope="session")
def other_sheet() -> Sheet:
    return make_sheet(1)


@pytest.fixture(scope="session")
def a4_sheet() -> Sheet:
    return make_a4_sheet(0)

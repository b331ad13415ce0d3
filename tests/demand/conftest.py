"""Shared municipalities for the demand model's tests (small, so each test costs seconds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rig.harness.demand.params import DEFAULTS_FILE, Municipality

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def municipality(**changes: Any) -> Municipality:
    data: dict[str, Any] = {
        "name": "test town",
        "kind": "town",
        "population": 20_000,
        "card_penetration": 0.75,
        "stores": 9,
        "fiscal_year": 2026,
        "fees": {
            "resident_record": 200,
            "seal_registration": 200,
            "tax_certificate": 200,
            "koseki": 350,
            "fuhyo": 200,
        },
        "demand": yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8")),
    }
    data.update(changes)
    return Municipality.model_validate(data)


@pytest.fixture
def town() -> Municipality:
    return municipality(
        service_hours={"start": "08:00", "end": "20:00"},
        koseki_hours={"start": "09:00", "end": "17:00", "weekdays_only": True},
        closed_weekdays=["wed"],
        closed_on_national_holidays=True,
        maintenance=[
            {"start": "2026-07-12T06:30:00+09:00", "end": "2026-07-13T12:00:00+09:00"},
        ],
    )

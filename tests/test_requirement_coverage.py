"""Every requirement of the catalogue is verified by at least one scenario (issue: harness)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_every_requirement_has_a_scenario_and_there_are_enough_scenarios() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rig.harness.coverage", "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    start = result.stdout.index("{\n")
    report = json.loads(result.stdout[start:])
    assert report["uncovered"] == [], f"requirements without a scenario: {report['uncovered']}"
    assert result.returncode == 0
    assert report["scenarios"] >= 150
    assert len(report["areas"]) >= 20

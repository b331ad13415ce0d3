"""The report says, per scenario, how the kiosk's time-outs ran (rig clock, test-mode time,
real time): `Customer.wait` records each wait in the evidence, the plugin labels the scenario,
the report lists the labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reports.builder import build_report
from rig.core.requirements import load_catalogue

pytest_plugins = ["pytester"]


def test_each_scenario_that_waited_is_labelled(pytester: pytest.Pytester, tmp_path: Path) -> None:
    rid = load_catalogue().ids[0]
    scenarios = pytester.mkdir("scenarios")
    (scenarios / "test_forgotten_items.py").write_text(
        "import pytest\n"
        "from rig.core.drivers.robot_client import TIME_CHANNEL\n"
        f"@pytest.mark.requirement({rid!r})\n"
        "def test_jumped(evidence):\n"
        "    evidence.record(TIME_CHANNEL, 'wait', mode='test-mode', seconds=61)\n"
        "    evidence.record(TIME_CHANNEL, 'wait', mode='test-mode', seconds=181)\n"
        f"@pytest.mark.requirement({rid!r})\n"
        "def test_waited(evidence):\n"
        "    evidence.record(TIME_CHANNEL, 'wait', mode='real-time', seconds=30)\n"
        "    evidence.record(TIME_CHANNEL, 'wait', mode='rig-clock', seconds=5)\n"
        f"@pytest.mark.requirement({rid!r})\n"
        "def test_no_wait(evidence):\n    pass\n",
        encoding="utf-8",
    )
    results = tmp_path / "run" / "results.json"
    outcome = pytester.runpytest(
        "scenarios", "--rig-plan=full", f"--rig-results={results}",
        f"--rig-evidence-dir={tmp_path / 'evidence'}",
    )  # fmt: skip
    outcome.assert_outcomes(passed=3)
    tests = {t["nodeid"].split("::")[-1]: t for t in json.loads(results.read_text())["tests"]}
    assert tests["test_jumped"]["time"] == "test-mode time: 2 waits, 242 s skipped"
    assert tests["test_waited"]["time"] == (
        "real time: 1 wait, 30 s waited; rig clock: 1 wait, 5 s advanced"
    )
    assert "time" not in tests["test_no_wait"]
    summary = build_report(results, tmp_path / "run", meta={"finished_at": "t1"})
    assert [r["nodeid"].split("::")[-1] for r in summary["time_outs"]] == [
        "test_jumped",
        "test_waited",
    ]
    html = (tmp_path / "run" / "index.html").read_text()
    assert "<h2>Time-outs</h2>" in html and "test-mode time: 2 waits, 242 s skipped" in html

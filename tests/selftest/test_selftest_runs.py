"""`rig selftest` on a few defects: each is run in worlds of its own and caught, and a
variant that changes nothing fails the selftest. Each run is narrowed to one or two
scenarios (`keyword`) and the baseline is left to the judging tests (test_pack.py) to keep
`make test` quick; `make soak` runs the whole pack with its baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rig.harness.selftest.matrix import HTML_NAME, JSON_NAME, write_matrix
from rig.harness.selftest.pack import EXTRA_PACKS_ENV, find
from rig.harness.selftest.runner import run_selftest


def test_a_few_defects_are_caught_and_the_matrix_says_by_what(tmp_path: Path) -> None:
    defects = [find("server-support-measure-not-refused"), find("server-closing-second")]
    outcome = run_selftest(
        defects, tmp_path, baseline=False, keyword="dv_protected and jpki or T21"
    )
    assert outcome.exit_code == 0, [(r.defect.name, r.run.problem) for r in outcome.results]
    by_name = {r.defect.name: r for r in outcome.results}
    dv = by_name["server-support-measure-not-refused"]
    assert dv.caught_by == [
        "scenarios/test_refusals.py::test_refused_at_authentication"
        "[dv_protected-support_measure-jpki]"
    ]
    closing = by_name["server-closing-second"]
    assert closing.caught_by == [
        "scenarios/test_municipal_hours.py::test_municipal_service_hours"
        "[993026-2026-11-27T21:00:00-outside_service_hours]"
    ]
    assert len(dv.run.outcomes) == 1 and len(closing.run.outcomes) == 1
    data = write_matrix(outcome, tmp_path)
    assert data["verdict"] == "pass" and data["detected"] == 2
    saved = json.loads((tmp_path / JSON_NAME).read_text(encoding="utf-8"))
    assert [m["defect"] for m in saved["matrix"]] == [d.name for d in defects]
    assert saved["matrix"][0]["caught_by"][0]["scenario"] == dv.caught_by[0]
    page = (tmp_path / HTML_NAME).read_text(encoding="utf-8")
    assert "2 of 2 defects caught" in page and "test_refused_at_authentication" in page


@pytest.mark.slow
def test_a_kiosk_defect_is_run_against_the_kiosk_plan_with_a_baseline(tmp_path: Path) -> None:
    outcome = run_selftest([find("kiosk-simplex")], tmp_path, keyword="duplex_with_marks")
    (result,) = outcome.results
    assert result.run.plan == "kiosk-conformance"
    baseline = outcome.baselines["kiosk-conformance"]
    assert baseline.outcomes and baseline.failing == [], "the reference kiosk passes them"
    assert set(baseline.outcomes) == set(result.run.outcomes)
    assert result.detected, result.run.problem or result.run.messages
    assert all("test_printing.py::test_a4_plain_duplex" in n for n in result.caught_by)


def test_a_defect_nothing_catches_fails_the_selftest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EXTRA_PACKS_ENV, "tests.selftest.noop_pack")  # the pytest run inherits it
    outcome = run_selftest(
        [find("test-no-op")], tmp_path, baseline=False, keyword="dv_protected and jpki"
    )
    (result,) = outcome.results
    assert result.run.problem == ""
    assert list(result.run.outcomes.values()) == ["passed"]
    assert not result.detected and result.caught_by == []
    assert outcome.exit_code == 1
    data = write_matrix(outcome, tmp_path)
    assert data["verdict"] == "fail"
    assert "NOT CAUGHT" in (tmp_path / HTML_NAME).read_text(encoding="utf-8")


def test_a_run_that_selects_nothing_is_not_a_pass(tmp_path: Path) -> None:
    outcome = run_selftest(
        [find("server-closing-second")], tmp_path, baseline=False, keyword="no_such_scenario"
    )
    (result,) = outcome.results
    assert not result.detected and "pytest exited with 5" in result.run.problem
    assert outcome.exit_code == 1

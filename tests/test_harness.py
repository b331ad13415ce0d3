"""The conformance harness: requirement markers, plans, results and the report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reports.builder import ReportError, build_report, load_expected_failures
from rig.core.requirements import load_catalogue
from rig.harness.plans import PlanError, available_plans, deprecation_note, load_plan

pytest_plugins = ["pytester"]


@pytest.fixture
def two_ids() -> tuple[str, str]:
    ids = load_catalogue().ids
    return ids[0], ids[1]


def write_scenarios(pytester: pytest.Pytester, a: str, b: str) -> None:
    scenarios = pytester.mkdir("scenarios")
    (scenarios / "test_payment.py").write_text(
        "import pytest\n"
        f"@pytest.mark.requirement({a!r})\n"
        "@pytest.mark.smoke\n"
        "def test_ok():\n    assert 1 + 1 == 2\n"
        f"@pytest.mark.requirement({a!r}, {b!r})\n"
        "def test_broken():\n    assert 'change' == 'no change'\n",
        encoding="utf-8",
    )


def test_shipped_plans_load() -> None:
    assert {"smoke", "full", "kiosk-conformance", "municipal-server"} <= set(available_plans())
    assert load_plan("smoke").markers == ("smoke",)
    # the kiosk plan's old name still works, with a note that it is deprecated
    assert load_plan("pseudo-store") == load_plan("kiosk-conformance")
    assert "use --plan kiosk-conformance" in (deprecation_note("pseudo-store") or "")
    assert deprecation_note("kiosk-conformance") is None
    assert "システム確認試験(事前評価ツール)" in load_plan("municipal-server").title
    with pytest.raises(PlanError, match="choose one of"):
        load_plan("nightly-everything")


def test_a_run_longer_than_the_plan_states_gets_a_note() -> None:
    smoke = load_plan("smoke")
    assert smoke.max_seconds == 30
    assert smoke.over_time(29.5) is None
    assert "meant to take under 30 s; its scenarios took 42 s" in (smoke.over_time(42.2) or "")
    assert load_plan("kiosk-conformance").over_time(10_000) is None  # states no time


def test_unknown_requirement_id_is_a_usage_error(pytester: pytest.Pytester) -> None:
    scenarios = pytester.mkdir("scenarios")
    (scenarios / "test_x.py").write_text(
        "import pytest\n@pytest.mark.requirement('NOPE-999')\ndef test_a():\n    pass\n"
        "def test_unmarked():\n    pass\n",
        encoding="utf-8",
    )
    result = pytester.runpytest("scenarios", "-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(
        ["*unknown requirement id 'NOPE-999'*", "*test_unmarked: no @pytest.mark.requirement*"]
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_plan_selects_and_results_record_requirements(
    pytester: pytest.Pytester, two_ids: tuple[str, str]
) -> None:
    a, b = two_ids
    write_scenarios(pytester, a, b)
    out = pytester.path / "results.json"
    result = pytester.runpytest("scenarios", "--rig-plan=smoke", f"--rig-results={out}")
    result.assert_outcomes(passed=1, deselected=1)
    data = json.loads(out.read_text())
    assert data["plan"] == "smoke"
    [test] = data["tests"]
    assert test["nodeid"].endswith("test_ok") and test["requirements"] == [a]
    assert test["area"] == "payment" and test["outcome"] == "passed"


def test_report_matrix_new_and_expected_failures(
    pytester: pytest.Pytester, two_ids: tuple[str, str], tmp_path: Path
) -> None:
    a, b = two_ids
    write_scenarios(pytester, a, b)
    results = tmp_path / "run" / "results.json"
    result = pytester.runpytest("scenarios", "--rig-plan=full", f"--rig-results={results}")
    result.assert_outcomes(passed=1, failed=1)

    summary = build_report(results, tmp_path / "run", meta={"finished_at": "t1"})
    assert summary["verdict"] == "fail"
    assert [f["nodeid"].split("::")[-1] for f in summary["new_failures"]] == ["test_broken"]
    assert "no change" in summary["new_failures"][0]["message"]
    matrix = {row["id"]: row for row in summary["requirements"]["matrix"]}
    assert matrix[a]["result"] == "failed" and len(matrix[a]["scenarios"]) == 2
    assert matrix[b]["result"] == "failed"
    others = [row for rid, row in matrix.items() if rid not in (a, b)]
    assert all(row["result"] == "not-run" for row in others)
    html = (tmp_path / "run" / "index.html").read_text()
    assert "test_broken" in html and a in html and "FAIL" in html

    expected = tmp_path / "expected.yaml"
    expected.write_text(f"- requirement: {b}\n  reason: vendor ticket K-1\n", encoding="utf-8")
    summary = build_report(
        results, tmp_path / "run", expected_failures=expected, meta={"finished_at": "t2"}
    )
    assert summary["verdict"] == "pass" and summary["new_failures"] == []
    assert summary["expected_failures"][0]["reason"] == "vendor ticket K-1"
    assert [row["at"] for row in summary["trend"]] == ["t1"]  # history of the earlier run


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{}", "expected a list"),
        ("- reason: x\n", "needs 'test' or 'requirement'"),
        ("- test: a\n", "needs a 'reason'"),
    ],
)
def test_bad_expected_failures_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "e.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReportError, match=message):
        load_expected_failures(path)


def test_rig_run_refuses_an_external_topology_with_a_clear_message(tmp_path: Path) -> None:
    import subprocess
    import sys

    from rig.harness.config import TOPOLOGY_DIR

    result = subprocess.run(
        [sys.executable, "-m", "rig.harness.cli", "run", "--plan", "smoke", "--topology",
         str(TOPOLOGY_DIR / "external-kiosk.yaml"), "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--plan kiosk-conformance" in result.stdout.replace("\n", " ")


def test_what_did_not_run_is_reported_with_its_reason(
    pytester: pytest.Pytester, two_ids: tuple[str, str], tmp_path: Path
) -> None:
    """A scenario asking an external server's test data for what it lacks is "not run",
    never passed; the report lists every such scenario under its reason."""
    a, _ = two_ids
    scenarios = pytester.mkdir("scenarios")
    (scenarios / "test_refusals.py").write_text(
        "import pytest\n"
        "from rig.core.municipal_test_data import NotInTestData\n"
        f"@pytest.mark.requirement({a!r})\n"
        "def test_needs_a_deceased_resident():\n"
        "    raise NotInTestData(\"991015: no resident with trait 'deceased'\")\n"
        f"@pytest.mark.requirement({a!r})\n"
        "def test_ok():\n    pass\n",
        encoding="utf-8",
    )
    results = tmp_path / "run" / "results.json"
    result = pytester.runpytest("scenarios", "--rig-plan=full", f"--rig-results={results}")
    result.assert_outcomes(passed=1, skipped=1)
    summary = build_report(results, tmp_path / "run", meta={"finished_at": "t1"})
    assert summary["verdict"] == "pass"
    [not_run] = summary["not_run"]
    assert not_run["nodeid"].endswith("test_needs_a_deceased_resident")
    assert not_run["reason"] == "not run, no test data: 991015: no resident with trait 'deceased'"
    html = (tmp_path / "run" / "index.html").read_text()
    assert "<h2>Not run</h2>" in html and "no test data" in html


def test_rig_run_keeps_bytecode_where_the_shell_forbids_it(tmp_path: Path) -> None:
    """A vendor's CI calling `rig run` directly with PYTHONDONTWRITEBYTECODE set still gets
    cached bytecode, under build/pycache, for the run's processes; a chosen prefix stands."""
    probe = (
        "import json, os, sys; from rig.harness.runner import keep_bytecode; keep_bytecode(); "
        "print(json.dumps([sys.dont_write_bytecode, sys.pycache_prefix, "
        "os.environ.get('PYTHONDONTWRITEBYTECODE'), os.environ.get('PYTHONPYCACHEPREFIX')]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    root = Path(__file__).resolve().parents[1]
    cache = root / "build" / "pycache"

    def ask(env: dict[str, str]) -> list[object]:
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, cwd=root, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        answer: list[object] = json.loads(done.stdout)
        return answer

    assert ask(env) == [False, str(cache), None, str(cache)]
    chosen = str(tmp_path / "mine")
    assert ask({**env, "PYTHONPYCACHEPREFIX": chosen}) == [True, chosen, "1", chosen]

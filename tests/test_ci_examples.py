"""The nightly CI examples (examples/ci/, docs/nightly.md): each passes its own system's linter,
offline, and carries what the rig writes (history, Allure history, ledger, report)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from reports.builder import HISTORY_FILE, load_expected_failures
from rig.harness.validation.ledger import LEDGER_FILE

ROOT = Path(__file__).resolve().parents[1]
CI = ROOT / "examples" / "ci"
GITHUB = CI / "github" / "nightly.yml"
GITLAB = CI / "gitlab" / ".gitlab-ci.yml"
BIN = Path(sys.executable).parent
#: Any attempt to reach the network goes to a closed loopback port: the linters run offline.
OFFLINE = {
    **os.environ,
    **{k: "http://127.0.0.1:9" for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")},
    **{k: "http://127.0.0.1:9" for k in ("http_proxy", "https_proxy", "all_proxy")},
    "NO_PROXY": "",
    "no_proxy": "",
}
HISTORY = {
    f"reports/out/{HISTORY_FILE}",
    "reports/out/allure-history.jsonl",
    f"reports/out/{LEDGER_FILE}",
}


def _tool(name: str) -> str:
    found = BIN / name
    assert found.exists(), f"{name} is in the dev extra: run make setup"
    return str(found)


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_tool("actionlint"), "-no-color", str(path)],
        capture_output=True, text=True, timeout=60, env=OFFLINE, cwd=path.parent,
    )  # fmt: skip


def gitlab_lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(path)],
        capture_output=True, text=True, timeout=60, env=OFFLINE,
    )  # fmt: skip


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_github_workflow_passes_actionlint_and_a_broken_one_does_not(tmp_path: Path) -> None:
    done = actionlint(GITHUB)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "nightly.yml"
    text = GITHUB.read_text(encoding="utf-8")
    broken.write_text(text.replace("steps.run.outputs.rig_exit", "steps.rn.outputs.rig_exit"))
    done = actionlint(broken)
    assert done.returncode == 1 and 'property "rn" is not defined' in done.stdout


def test_gitlab_pipeline_passes_its_schema_and_a_broken_one_does_not(tmp_path: Path) -> None:
    done = gitlab_lint(GITLAB)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / ".gitlab-ci.yml"
    broken.write_text(GITLAB.read_text(encoding="utf-8").replace("  script:\n", "  scriptt:\n", 1))
    done = gitlab_lint(broken)
    assert done.returncode == 1 and "scriptt" in done.stdout


def test_github_workflow_runs_nightly_keeps_history_publishes_and_fails_on_new_only() -> None:
    flow = _load(GITHUB)
    assert flow[True]["schedule"][0]["cron"]  # YAML reads the key `on` as True
    steps = flow["jobs"]["conformance"]["steps"]
    uses = {s.get("uses", "").split("@")[0]: s for s in steps}
    restore, save = uses["actions/cache/restore"], uses["actions/cache/save"]
    assert set(restore["with"]["path"].split()) == HISTORY == set(save["with"]["path"].split())
    assert save["if"] == "always()" and uses["actions/upload-artifact"]["if"] == "always()"
    run = next(s for s in steps if s.get("id") == "run")["run"]
    assert "rig run --plan" in run and '--expected-failures "$EXPECTED_FAILURES"' in run
    assert flow["env"]["EXPECTED_FAILURES"] == "examples/ci/expected-failures.yaml"
    assert steps[-1]["if"] == "steps.run.outputs.rig_exit != '0'"


def test_gitlab_pipeline_keeps_history_publishes_and_fails_on_new_only() -> None:
    pipeline = _load(GITLAB)
    job = pipeline["nightly-conformance"]
    assert set(job["cache"]["paths"]) == HISTORY and job["cache"]["when"] == "always"
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == "reports/out/latest/junit.xml"
    assert "--expected-failures" in job["script"][-1] and "rig run" in job["script"][-1]
    assert pipeline["variables"]["RIG_PLAN"] == "full"
    assert pipeline["pages"]["needs"][0]["job"] == "nightly-conformance"


def test_the_example_expected_failures_file_loads() -> None:
    assert load_expected_failures(CI / "expected-failures.yaml") == []


@pytest.mark.parametrize("command", ["actionlint", "check-jsonschema"])
def test_linters_come_from_the_dev_extra(command: str) -> None:
    assert shutil.which(command, path=str(BIN)), f"{command} missing from .venv/bin"

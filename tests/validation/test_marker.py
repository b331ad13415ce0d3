"""A run's report folder holds what that run wrote, nothing of an earlier run's."""

from __future__ import annotations

import json
from pathlib import Path

from rig.harness.validation.marker import MARKER, RUN_OUTPUTS, clear_earlier_run, write_marker


def _earlier_run(folder: Path) -> None:
    stale = folder / "evidence" / "scenarios_test_full.py_test_only_in_the_full_plan"
    stale.mkdir(parents=True)
    (stale / "steps.jsonl").write_text("{}\n")
    (folder / "allure-report" / "data").mkdir(parents=True)
    (folder / "allure-report" / "data" / "old.json").write_text("{}")
    for name in ("index.html", "junit.xml", "results.json", "summary.json", MARKER):
        (folder / name).write_text("earlier run")


def test_an_earlier_runs_outputs_go_and_the_users_own_files_stay(tmp_path: Path) -> None:
    _earlier_run(tmp_path)
    (tmp_path / "notes-of-the-vendor.txt").write_text("mine")
    clear_earlier_run(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes-of-the-vendor.txt"]
    assert not set(RUN_OUTPUTS) & {p.name for p in tmp_path.iterdir()}


def test_the_marker_vouches_only_for_this_runs_files(tmp_path: Path) -> None:
    _earlier_run(tmp_path)
    clear_earlier_run(tmp_path)
    ours = tmp_path / "evidence" / "scenarios_test_smoke.py_test_this_run"
    ours.mkdir(parents=True)
    (ours / "steps.jsonl").write_text("{}\n")
    write_marker(tmp_path, {"plan": "smoke"})
    files = json.loads((tmp_path / MARKER).read_text())["files"]
    assert list(files) == ["evidence/scenarios_test_smoke.py_test_this_run/steps.jsonl"]


def test_clearing_an_empty_or_new_folder_is_harmless(tmp_path: Path) -> None:
    clear_earlier_run(tmp_path)
    clear_earlier_run(tmp_path / "not-yet")
    assert list(tmp_path.iterdir()) == []

"""`rig` prints what it was given as text: a path or a message with brackets is not markup."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from rig.harness.cli import app
from rig.harness.runner import ProgressPlugin


def test_a_refused_topology_whose_path_looks_like_markup_is_named_not_crashed_on(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "site[/x]"  # rich would read "[/x]" as a closing tag
    folder.mkdir(parents=True)  # two folders, "site[" and "x]"
    topology = folder / "t.yaml"
    topology.write_text("name: [1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--plan", "smoke", "--topology", str(topology)])
    assert result.exit_code == 2, result.output
    said = result.output.replace("\n", "")  # rich folds long lines at the console's width
    assert "site[/x]" in said and "not valid YAML" in said


def test_a_report_of_an_unreadable_run_names_its_bracketed_path(tmp_path: Path) -> None:
    results = tmp_path / "run[bold]" / "results.json"
    results.parent.mkdir()
    results.write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(app, ["report", str(results)])
    assert result.exit_code == 2, result.output
    assert "run[bold]" in result.output.replace("\n", "")


def test_the_progress_bar_names_a_parametrised_scenario_whole() -> None:
    out = io.StringIO()
    plugin = ProgressPlugin(Console(file=out, width=200, force_terminal=False))
    plugin.plan = "smoke"
    plugin.progress.start()
    plugin.task = plugin.progress.add_task("", total=1, plan="smoke", failed=0)
    plugin.pytest_runtest_logstart("scenarios/test_x.py::test_refused[/x-bad-pin]", None)
    plugin.pytest_sessionfinish()
    assert "test_refused[/x-bad-pin]" in out.getvalue()

"""Run each defect of the pack against its owner's plan and judge what caught it.

Per defect: a topology of its own (the default one plus `defects: [name]`) and one pytest
process over the owner's plan, narrowed to the scenarios that verify the defect's target
requirements (or the whole plan, `whole_plan`). Every scenario builds its own world, so the
variant is always fresh. A scenario that fails or errors against the variant catches it,
unless it also fails against the reference parties (the baseline, run once per plan over the
same selection): that scenario judges nothing. A defect nothing catches fails the selftest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rig.harness.config import DEFAULT_TOPOLOGY
from rig.harness.selftest.pack import Defect
from rig.harness.selftest.selection import OPTION

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = ROOT / "scenarios"
#: One plan run may take this long before it is stopped (and counted as an error).
RUN_TIMEOUT_S = 1800
FAILING = ("failed", "error")


@dataclass
class PlanRun:
    """One pytest process over a plan's selection: the outcome of every scenario."""

    plan: str
    topology: str
    requirements: tuple[str, ...]
    exit_status: int
    duration_s: float
    outcomes: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    problem: str = ""

    @property
    def failing(self) -> list[str]:
        return sorted(n for n, o in self.outcomes.items() if o in FAILING)


@dataclass
class DefectResult:
    defect: Defect
    run: PlanRun
    caught_by: list[str]
    also_failing_in_baseline: list[str]

    @property
    def detected(self) -> bool:
        return bool(self.caught_by) and not self.run.problem


@dataclass
class SelftestOutcome:
    results: list[DefectResult]
    baselines: dict[str, PlanRun]
    whole_plan: bool
    duration_s: float

    @property
    def undetected(self) -> list[DefectResult]:
        return [r for r in self.results if not r.detected]

    @property
    def exit_code(self) -> int:
        return 1 if self.undetected or not self.results else 0


def write_topology(folder: Path, defect: Defect | None) -> Path:
    """The default topology with the defect (or none: the baseline) in its `defects:`."""
    data: dict[str, Any] = yaml.safe_load(DEFAULT_TOPOLOGY.read_text(encoding="utf-8"))
    name = defect.name if defect is not None else "baseline"
    data["name"] = f"selftest-{name}"
    data["description"] = f"rig selftest: {defect.summary if defect else 'reference parties'}"
    data["defects"] = [defect.name] if defect is not None else []
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def scenario_paths(requirements: Iterable[str]) -> list[Path]:
    """The scenario modules that name one of `requirements` (collecting the other modules
    would only cost time), or the whole folder when none is given or none names them."""
    quoted = [f'"{r}"' for r in requirements]
    if not quoted:
        return [SCENARIOS]
    found = [
        path
        for path in sorted(SCENARIOS.glob("test_*.py"))
        if any(q in path.read_text(encoding="utf-8") for q in quoted)
    ]
    return found or [SCENARIOS]


def run_plan_selection(
    plan: str,
    topology: Path,
    requirements: Iterable[str],
    folder: Path,
    *,
    workers: int = 0,
    keyword: str | None = None,
) -> PlanRun:
    """One pytest process: `plan` under `topology`, narrowed to `requirements` (if any)."""
    wanted = tuple(sorted(set(requirements)))
    folder.mkdir(parents=True, exist_ok=True)
    results = folder / "results.json"
    results.unlink(missing_ok=True)
    args = [
        sys.executable, "-m", "pytest", *map(str, scenario_paths(wanted)),
        f"--rig-plan={plan}", f"--rig-topology={topology}", f"--rig-results={results}",
        f"--rig-evidence-dir={folder / 'evidence'}", "-p", "rig.harness.selftest.selection",
        "-p", "no:cacheprovider", "-q", "--no-header", "-rN",
    ]  # fmt: skip
    if wanted:
        args.append(f"{OPTION}={','.join(wanted)}")
    if workers:
        args += ["-n", str(workers)]
    if keyword:
        args += ["-k", keyword]
    started = time.perf_counter()
    log = folder / "pytest.log"
    try:
        with log.open("w", encoding="utf-8") as out:
            done = subprocess.run(
                args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT_S,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, check=False,
            )  # fmt: skip
        status = done.returncode
        problem = ""
    except subprocess.TimeoutExpired:
        status, problem = -1, f"stopped after {RUN_TIMEOUT_S} s"
    run = PlanRun(plan, str(topology), wanted, status, time.perf_counter() - started)
    if status not in (0, 1):  # 1: some scenarios failed; anything else: the run itself failed
        run.problem = problem or f"pytest exited with {status} (see {log})"
    if results.exists():
        data = json.loads(results.read_text(encoding="utf-8"))
        for test in data.get("tests", []):
            run.outcomes[test["nodeid"]] = test["outcome"]
            if test.get("message"):
                run.messages[test["nodeid"]] = str(test["message"])[:400]
    elif not run.problem:
        run.problem = f"no results written (see {log})"
    if not run.outcomes and not run.problem:
        run.problem = "no scenario of the plan verifies these requirements"
    return run


def judge(defect: Defect, run: PlanRun, baseline: PlanRun | None) -> DefectResult:
    """The scenarios that caught `defect`: failing against it, passing against the reference."""
    judged_nothing = set(baseline.failing) if baseline is not None else set()
    caught = [n for n in run.failing if n not in judged_nothing]
    return DefectResult(defect, run, caught, sorted(set(run.failing) & judged_nothing))


def run_selftest(
    defects: list[Defect],
    report_dir: Path,
    *,
    whole_plan: bool = False,
    baseline: bool = True,
    workers: int = 0,
    keyword: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> SelftestOutcome:
    """Run every defect, each in worlds of its own; the baseline first, once per plan."""
    started = time.perf_counter()
    topologies = report_dir / "topologies"
    baselines: dict[str, PlanRun] = {}
    if baseline:
        reference = write_topology(topologies, None)
        for plan in sorted({d.plan for d in defects}):
            wanted = (
                () if whole_plan else [r for d in defects if d.plan == plan for r in d.requirements]
            )
            progress(f"baseline: plan {plan} with the reference parties")
            baselines[plan] = run_plan_selection(
                plan, reference, wanted, report_dir / "runs" / f"baseline-{plan}",
                workers=workers, keyword=keyword,
            )  # fmt: skip
    results: list[DefectResult] = []
    for n, defect in enumerate(defects, 1):
        progress(f"[{n}/{len(defects)}] {defect.name}: plan {defect.plan}")
        run = run_plan_selection(
            defect.plan, write_topology(topologies, defect),
            () if whole_plan else defect.requirements, report_dir / "runs" / defect.name,
            workers=workers, keyword=keyword,
        )  # fmt: skip
        result = judge(defect, run, baselines.get(defect.plan))
        results.append(result)
        caught = len(result.caught_by)
        progress(f"    {f'caught by {caught}' if result.detected else 'NOT CAUGHT'}")
    return SelftestOutcome(results, baselines, whole_plan, time.perf_counter() - started)

"""`rig run`: run a plan's scenarios with a progress bar, then write the conformance report."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reports.builder import FAILED, build_report, now_stamp
from rig.core.municipal_test_data import MunicipalDataError, load_test_data
from rig.harness.config import Topology, TopologyError, load_topology
from rig.harness.kiosk_kit import KIOSK_JSON
from rig.harness.plans import DEPRECATED_ALIASES, deprecation_note, load_plan
from rig.harness.validation.marker import clear_earlier_run
from rig.harness.validation.run_record import RunRecord, default_ledger

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


class ProgressPlugin:
    """A rich progress bar over the selected scenarios, naming the one running."""

    def __init__(self, console: Console):
        self.progress = Progress(
            # names are text: a scenario's parameters come in brackets ("[bad-pin]")
            TextColumn("{task.fields[plan]}", style="bold", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("{task.description}", markup=False),
            console=console,
            transient=False,
        )
        self.task: Any = None
        self.failed = 0
        self.plan = ""

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._begin(session.config, len(session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # with pytest-xdist the controller collects nothing itself: each worker reports its ids
        if self.task is None:
            self._begin(node.config, len(ids))

    def _begin(self, config: pytest.Config, total: int) -> None:
        self.plan = str(config.getoption("--rig-plan") or "")
        self.progress.start()
        self.task = self.progress.add_task("", total=total, plan=self.plan, failed=0)

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        # (with xdist this reaches the controller too, so the bar names a running scenario)
        if self.task is not None:
            self.progress.update(self.task, description=nodeid.split("::")[-1][:60])

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.task is None:
            return
        if report.failed:
            self.failed += 1
            self.progress.update(self.task, failed=self.failed)
        if report.when == "teardown":
            self.progress.advance(self.task)

    def pytest_sessionfinish(self) -> None:
        if self.task is not None:
            self.progress.stop()


@dataclass
class RunOutcome:
    exit_code: int
    report_dir: Path
    summary: dict[str, Any]


def versions() -> dict[str, str]:
    found = {"rig": metadata.version("konbini-rig"), "python": platform.python_version()}
    for dist in ("pyscard", "cryptography", "simpy", "ghostscript"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "missing"
    for tool, args in (("gs", ["--version"]), ("pcscd", ["--version"])):
        exe = shutil.which(tool) or f"/usr/sbin/{tool}"
        try:
            out = subprocess.run([exe, *args], capture_output=True, text=True, timeout=10).stdout
            found[tool] = out.strip().splitlines()[0] if out.strip() else "unknown"
        except (OSError, subprocess.TimeoutExpired):
            found[tool] = "missing"
    return found


def keep_bytecode() -> None:
    """Let this process and the workers and parties it starts keep bytecode under build/pycache
    where the shell sets PYTHONDONTWRITEBYTECODE (as the Makefile does for its targets): without
    it every process of a run compiles the rig, and pytest rewrites the scenarios, from source.
    Nothing is written beside the sources either way; a prefix the user chose stands."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    prefix = str(ROOT / "build" / "pycache")
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ["PYTHONPYCACHEPREFIX"] = sys.pycache_prefix = prefix
    sys.dont_write_bytecode = False


def run_plan(
    plan_name: str,
    topology_path: str | None,
    report_dir: Path,
    *,
    expected_failures: Path | None = None,
    workers: int = 0,
    extra_args: list[str] | None = None,
    console: Console | None = None,
    ledger: Path | None = None,
    out_of_order: bool = False,
) -> RunOutcome:
    console = console or Console()
    keep_bytecode()
    clear_earlier_run(report_dir)  # its marker must not vouch for this run, nor its files
    plan = load_plan(plan_name)  # fail fast with a clear message
    note = deprecation_note(plan_name)
    if note:
        console.print(f"[yellow]deprecated[/yellow]: {escape(note)}")
    topology = load_topology(topology_path)
    check_runnable(plan.name, topology)
    record = RunRecord.begin(
        plan, topology, topology_path, ledger or default_ledger(report_dir),
        allow_out_of_order=out_of_order,
    )  # fmt: skip
    if record.out_of_order:
        console.print(
            f"[yellow]out of order[/yellow]: {escape(record.key)} has not passed "
            f"{escape(', '.join(record.missing))}; this run is marked out of order"
        )
    units = [u.name for u in topology.kiosk.units]
    if units:
        # one worker per kiosk unit, each bound to its unit (rig.harness.pytest_plugin.run_topology)
        console.print(
            f"{len(units)} kiosk units ({', '.join(units)}): one worker each", markup=False
        )
        workers = len(units)
    elif topology.external_parties() and workers:
        # one kiosk, or one server whose statistics and PIN counters every scenario shares:
        # one scenario at a time, so each scenario's state is its own
        console.print("external device under test: scenarios run one at a time (--workers ignored)")
        workers = 0
    report_dir.mkdir(parents=True, exist_ok=True)
    results = report_dir / "results.json"
    args = [
        str(SCENARIOS),
        f"--rig-plan={DEPRECATED_ALIASES.get(plan_name, plan_name)}",
        f"--rig-results={results}",
        f"--rig-evidence-dir={report_dir / 'evidence'}",
        f"--junitxml={report_dir / 'junit.xml'}",
        f"--alluredir={report_dir / 'allure-results'}",  # emptied by clear_earlier_run
        "-p",
        "no:cacheprovider",
        # pytest plugins no scenario uses: loading them (hypothesis, schemathesis and Faker's
        # every locale) cost each process, controller and workers, about a second at start
        *("-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:faker"),
        "-qq",
        "--no-header",
        "-rN",
    ]
    if topology_path:
        args.append(f"--rig-topology={topology_path}")
    if workers:
        args += ["-n", str(workers)]
    args += extra_args or []
    about = escape(plan.description.strip())
    console.print(f"rig run: plan [bold]{escape(plan.name)}[/bold] ({about})")
    where = escape(str(report_dir))
    console.print(f"topology [bold]{escape(topology.name)}[/bold]; report in {where}")
    plugins: list[object] = [ProgressPlugin(console)]
    started = time.monotonic()
    code = pytest.main(args, plugins=plugins)
    took = time.monotonic() - started
    if not results.exists():
        raise RuntimeError(f"pytest exited with {code} before any results were written")
    found_versions = versions()
    summary = build_report(
        results,
        report_dir,
        expected_failures=expected_failures,
        meta={
            "finished_at": now_stamp(),
            "versions": found_versions,
            "topology_name": topology.name,
            "plan_title": plan.title,
            "device": record.device,
            "order": record.order_meta(),
        },
    )
    build_allure_html(report_dir, console)
    new_failures = len(summary["new_failures"])
    bad_exit = int(code) not in (0, 1, 5)  # 1 = failures (judged below), 5 = nothing selected
    exit_code = 1 if new_failures or bad_exit or not summary["tests"] else 0
    narrowed = " ".join(extra_args) if extra_args else None
    record.finish(
        report_dir, summary, exit_code, found_versions,
        narrowed=narrowed, expected_failures=expected_failures,
    )  # fmt: skip
    colour = "green" if exit_code == 0 else "red"
    failed = sum(summary["totals"].get(k, 0) for k in FAILED)
    console.print(
        f"[{colour}]{summary['verdict'].upper()}[/{colour}]: {summary['tests']} scenarios, "
        f"{failed} failed ({new_failures} new); report: {escape(str(report_dir / 'index.html'))}"
    )
    if (note := plan.over_time(took)) is not None:
        console.print(note, style="yellow", markup=False)
    return RunOutcome(exit_code, report_dir, summary)


def check_runnable(plan_name: str, topology: Topology) -> None:
    """Refuse, with the way forward, a plan this topology cannot run (docs/harness.md)."""
    plan_name = DEPRECATED_ALIASES.get(plan_name, plan_name)
    kiosk, municipal = topology.external_kiosk, topology.external_municipal
    if "jpki" in topology.external_parties():
        raise TopologyError(
            f"{topology.name}: rig run cannot drive an external JPKI responder; the rig's "
            "centre checks certificates against the rig's own (docs/harness.md)"
        )
    if kiosk is not None and municipal is not None:
        raise TopologyError(f"{topology.name}: one device under test per run: kiosk or server")
    if kiosk is not None:
        if plan_name != "kiosk-conformance":
            raise TopologyError(
                f"{topology.name}: the kiosk is external; the kiosk-conformance plan drives "
                f"one (not {plan_name!r}): --plan kiosk-conformance"
            )
        for unit in topology.unit_topologies():
            check_kiosk_reachable(unit)
    if municipal is not None:
        if plan_name != "municipal-server":
            raise TopologyError(
                f"{topology.name}: the issuance server is external; only the municipal-server "
                f"plan drives one (not {plan_name!r}): --plan municipal-server"
            )
        assert municipal.test_data is not None  # validated with the topology
        try:
            load_test_data(municipal.test_data)  # fail fast, naming every problem
        except MunicipalDataError as exc:
            raise TopologyError(str(exc)) from exc


def check_kiosk_reachable(topology: Topology) -> None:
    """The kiosk must already run, configured from the kit: say how, if it does not answer."""
    import httpx  # here: imported before pytest.main, it would escape assertion rewriting

    from rig.core.drivers.robot_client import RobotClient, RobotError

    url = topology.kiosk.robot_url
    assert url is not None  # validated with the topology
    kit = topology.kiosk.kit / KIOSK_JSON
    try:
        with RobotClient(url, timeout=5) as robot:
            robot.info()
    except (httpx.HTTPError, RobotError, ValueError) as exc:
        raise TopologyError(
            f"{topology.name}: the kiosk's robot adapter at {url} does not answer "
            f"({type(exc).__name__}). Configure the kiosk from {kit} "
            f"(`rig kiosk-kit --topology FILE` writes it) and start it first."
        ) from exc


def build_allure_html(report_dir: Path, console: Console) -> None:
    """The Allure 3 HTML report, when set-up installed the npm package (node_modules)."""
    allure = ROOT / "node_modules" / ".bin" / "allure"
    results = report_dir / "allure-results"
    if not allure.exists() or not results.exists():
        console.print("allure: not installed (make setup installs it); skipping the Allure HTML")
        return
    # Allure 3 keeps its run history in a JSON-lines file named by its config
    config = report_dir / "allurerc.json"
    config.write_text(
        json.dumps(
            {
                "name": "コンビニ交付 conformance",
                "output": str(report_dir / "allure-report"),
                "historyPath": str(report_dir.parent / "allure-history.jsonl"),
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    cmd = [str(allure), "generate", str(results), "--config", str(config)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    if done.returncode != 0:
        why = escape(done.stderr.strip()[-400:])
        console.print(f"[yellow]allure generate failed[/yellow]: {why}")

"""The rig's pytest plugin (entry point `pytest11`).

Options: `--rig-topology`, `--rig-plan`, `--rig-results`, `--rig-evidence-dir`.
Markers: `requirement("ID", ...)` (what a scenario verifies, checked against the catalogue at
collection), `smoke`, `municipal_server`, `emulated_municipal` (looks into the emulated issuance
server: skipped as not applicable when the topology's issuance server is external),
`reference_kiosk` (likewise for an external kiosk), `kiosk_config(*needs)`,
`kiosk_inspect(*parts)`, `municipal_clock` and `municipal_registry` (applicable to an external
kiosk or server that declares the extension: rig/harness/applicability.py).
Per scenario, the results record how the kiosk's time-outs ran (`time`: rig clock, test-mode
time or real time; rig/harness/time_label.py).
A scenario that asks an external server's test data for a resident or card it does not name
(`rig.core.municipal_test_data.NotInTestData`) is reported skipped, "not run: no test data".
Fixtures: `rig_clock`, `evidence` (per-test folder, attached to allure when it runs),
`topology`, `reader_stack`, `card_slot`.
With several kiosk units in the topology, each pytest-xdist worker drives one
(`run_topology`) and every result names its unit.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from rig.core import steps
from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore

if TYPE_CHECKING:
    from rig.core.pcsc import ReaderStack, VirtualCardSlot
    from rig.harness.config import Topology
    from rig.harness.plans import Plan

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
SCENARIO_DIR = "scenarios"
PLAN_KEY = pytest.StashKey["Plan | None"]()
RESULTS_KEY = pytest.StashKey["RunResults"]()
TOPOLOGY_KEY = pytest.StashKey["tuple[Topology, str | None]"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rig", "konbini issuance rig")
    group.addoption(
        "--rig-evidence-dir",
        default=os.environ.get("RIG_EVIDENCE_DIR", "build/evidence"),
        help="folder for per-test evidence (default: build/evidence)",
    )
    group.addoption(
        "--rig-topology",
        default=os.environ.get("RIG_TOPOLOGY"),
        help="topology YAML: which parties are emulated or external (default: all emulated)",
    )
    group.addoption(
        "--rig-plan",
        default=os.environ.get("RIG_PLAN"),
        help="test plan (smoke, full, kiosk-conformance, municipal-server, or a YAML path)",
    )
    group.addoption("--rig-results", default=None, help="write per-test results as JSON here")


MARKERS = (
    "requirement(*ids): the catalogue requirements this scenario verifies",
    "smoke: part of the smoke plan",
    "municipal_server: drives a municipal issuance server as the centre would",
    "emulated_municipal: needs the emulated issuance server (its registry or its clock)",
    "reference_kiosk: looks into the reference kiosk (its state, audit log or settings)",
)
#: what a scenario's user property (name) becomes in its results entry
RESULT_FIELDS = {
    "rig_requirements": "requirements",
    "rig_area": "area",
    "rig_evidence": "evidence",
    "rig_unit": "unit",  # the kiosk unit that ran it (several units)
    "rig_time": "time",
}


def pytest_configure(config: pytest.Config) -> None:
    from rig.harness import applicability

    for line in (*MARKERS, *applicability.MARKERS):
        config.addinivalue_line("markers", line)
    plan_name = config.getoption("--rig-plan")
    plan: Plan | None = None
    if plan_name:
        from rig.harness.plans import PlanError, load_plan

        try:
            plan = load_plan(plan_name)
        except PlanError as exc:
            raise pytest.UsageError(str(exc)) from exc
    config.stash[PLAN_KEY] = plan
    config.stash[RESULTS_KEY] = RunResults(config)
    config.pluginmanager.register(config.stash[RESULTS_KEY], "rig-results")


def scenario_area(item: pytest.Item) -> str:
    """`scenarios/test_payment.py::...` → `payment`; '' outside scenarios/."""
    path = Path(str(item.fspath))
    if path.parent.name != SCENARIO_DIR or not path.stem.startswith("test_"):
        return ""
    return path.stem[len("test_") :]


def requirement_ids(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for mark in item.iter_markers("requirement"):
        ids.extend(str(a) for a in mark.args)
    return ids


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    scenario_items = [i for i in items if scenario_area(i)]
    if scenario_items:
        from rig.core.requirements import UnknownRequirementError, load_catalogue

        catalogue = load_catalogue()
        problems = []
        for item in scenario_items:
            ids = requirement_ids(item)
            if not ids:
                problems.append(f"{item.nodeid}: no @pytest.mark.requirement(...)")
            for rid in ids:
                try:
                    catalogue.get(rid)
                except UnknownRequirementError as exc:
                    problems.append(f"{item.nodeid}: {exc}")
        if problems:
            raise pytest.UsageError("scenario requirement markers:\n  " + "\n  ".join(problems))
    _not_applicable(config, items)
    plan = config.stash[PLAN_KEY]
    if plan is None:
        return
    selected: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        markers = {m.name for m in item.iter_markers()}
        area = scenario_area(item)
        (selected if area and plan.selects(area, markers) else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = selected


def _not_applicable(config: pytest.Config, items: list[pytest.Item]) -> None:
    path = config.getoption("--rig-topology")
    if not path:
        return
    from rig.harness.applicability import mark_not_applicable

    mark_not_applicable(_load_topology(path), items)


def _load_topology(path: str | None) -> Topology:
    """The topology file at `path` (None: the default); one the rig cannot use is a usage
    error, reported before any scenario runs."""
    from rig.harness.config import TopologyError, load_topology

    try:
        return load_topology(path)
    except TopologyError as exc:
        raise pytest.UsageError(str(exc)) from exc


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    outcome: Any = yield
    report: pytest.TestReport = outcome.get_result()
    from rig.core.municipal_test_data import NotInTestData

    if call.excinfo is not None and call.excinfo.errisinstance(NotInTestData):
        # the device under test did not provide the data: nothing was judged
        _, line, _ = item.location
        report.outcome = "skipped"
        report.longrepr = (
            str(item.path),
            (line or 0) + 1,
            f"Skipped: not run, no test data: {call.excinfo.value}",
        )


class RunResults:
    """Per-test outcomes with their requirements, written as JSON for the report builder."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.tests: dict[str, dict[str, Any]] = {}
        self.started = time.time()  # noqa: TID251 - stamps the report, decides nothing

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = self.tests.setdefault(
            report.nodeid,
            {
                "nodeid": report.nodeid,
                "outcome": "passed",
                "duration_s": 0.0,
                "requirements": [],
                "area": "",
                "message": "",
            },
        )
        entry["duration_s"] += report.duration
        for name, value in report.user_properties:
            if name in RESULT_FIELDS:
                entry[RESULT_FIELDS[name]] = value
        if report.when == "call" or report.outcome != "passed":
            outcome: str = report.outcome
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
            elif report.when != "call" and report.failed:
                outcome = "error"
            if entry["outcome"] in ("passed",) or outcome in ("failed", "error"):
                entry["outcome"] = outcome
            if report.skipped and isinstance(report.longrepr, tuple):
                # why it did not run: not applicable to the topology, no test data, ...
                entry["message"] = str(report.longrepr[2]).removeprefix("Skipped: ")
            elif report.failed or report.skipped:
                entry["message"] = _short(report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # user_properties travel with every report, so this also works under pytest-xdist,
        # where the items live in the workers and the results are gathered in the controller
        item.user_properties.append(("rig_requirements", requirement_ids(item)))
        item.user_properties.append(("rig_area", scenario_area(item)))
        item.user_properties.append(("rig_evidence", str(evidence_folder(item))))
        unit = run_topology(item.config)[1] if item.config.getoption("--rig-topology") else None
        if unit is not None:
            item.user_properties.append(("rig_unit", unit))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        path = self.config.getoption("--rig-results")
        if not path:
            return
        plan = self.config.stash[PLAN_KEY]
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            json.dumps(
                {
                    "plan": plan.name if plan else None,
                    "topology": self.config.getoption("--rig-topology") or "default",
                    "exit_status": int(exitstatus),
                    "duration_s": time.time() - self.started,  # noqa: TID251 - report only
                    "tests": list(self.tests.values()),
                },
                indent=2,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )


def _short(report: pytest.TestReport) -> str:
    text = report.longreprtext or ""
    lines = [line for line in text.splitlines() if line.startswith("E ")]
    return "\n".join(lines[:6]) if lines else text[-600:]


def evidence_folder(item: pytest.Item) -> Path:
    root = Path(item.config.getoption("--rig-evidence-dir"))
    return root / _SAFE.sub("_", item.nodeid)[:180]


@pytest.fixture
def rig_clock() -> RigClock:
    """A fresh rig clock at the default start (a weekday morning, all services open)."""
    return RigClock()


@pytest.fixture
def evidence(request: pytest.FixtureRequest, rig_clock: RigClock) -> Iterator[EvidenceStore]:
    """The per-test evidence folder: build/evidence/<test id>/ (attached to allure if active)."""
    folder = evidence_folder(request.node)
    # a rerun replaces the evidence of the previous run of the same test
    shutil.rmtree(folder, ignore_errors=True)
    store = EvidenceStore(folder, now=rig_clock.now)
    rig_clock.evidence = store  # a failed clock callback is recorded with the test's evidence
    # the customer's steps go to this test's evidence (and to allure) while it runs
    with steps.recording(store):
        yield store
    from rig.harness.time_label import time_label

    label = time_label(store)
    if label:
        # how the kiosk's time-outs ran (rig clock, test-mode time, real time): the report
        request.node.user_properties.append(("rig_time", label))
    if request.config.getoption("allure_report_dir", None):
        _attach_to_allure(store)
    # a callback that raised in a thread the test never joined still fails the test
    rig_clock.raise_if_stopped()


def _attach_to_allure(store: EvidenceStore) -> None:
    import allure

    for channel in store.channels():
        allure.attach.file(
            str(store.folder / f"{channel}.jsonl"),
            name=f"{channel} trace",
            attachment_type=allure.attachment_type.JSON,
        )
    for path in store.attachments():
        kinds = {
            ".png": allure.attachment_type.PNG,
            ".pdf": allure.attachment_type.PDF,
            ".txt": allure.attachment_type.TEXT,
            ".json": allure.attachment_type.JSON,
            ".html": allure.attachment_type.HTML,
        }
        kind = kinds.get(path.suffix.lower())
        allure.attach.file(str(path), name=path.name, attachment_type=kind)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Label scenarios in allure with their area and requirement ids."""
    if not item.config.getoption("allure_report_dir", None):
        return
    import allure

    area = scenario_area(item)
    if area:
        allure.dynamic.feature(area)
    for rid in requirement_ids(item):
        allure.dynamic.label("requirement", rid)
        allure.dynamic.tag(rid)


def run_topology(config: pytest.Config) -> tuple[Topology, str | None]:
    """This process's topology and kiosk unit (None: the topology lists no units).

    With several kiosk units (`kiosk.units`) each pytest-xdist worker drives one: worker
    gwN the N-th unit (modulo their number); a run without workers drives the first.
    """
    if TOPOLOGY_KEY not in config.stash:
        loaded = _load_topology(config.getoption("--rig-topology"))
        unit: str | None = None
        if loaded.kiosk.units:
            worker = str(getattr(config, "workerinput", {}).get("workerid", "gw0"))
            index = int(worker.removeprefix("gw") or 0) % len(loaded.kiosk.units)
            unit = loaded.kiosk.units[index].name
            loaded = loaded.unit_topology(unit)
        config.stash[TOPOLOGY_KEY] = (loaded, unit)
    return config.stash[TOPOLOGY_KEY]


@pytest.fixture(scope="session")
def topology(request: pytest.FixtureRequest) -> Topology:
    """The topology of this run (`--rig-topology`, default: everything emulated); with several
    kiosk units, this worker's unit's (`run_topology`)."""
    return run_topology(request.config)[0]


@pytest.fixture(scope="session")
def reader_stack() -> ReaderStack:
    """The rig's PC/SC stack (pcscd + vpcd readers), brought up once per process."""
    from rig.core.pcsc import ReaderStack

    return ReaderStack.shared()


@pytest.fixture
def card_slot(
    reader_stack: ReaderStack, evidence: EvidenceStore, topology: Topology
) -> Iterator[VirtualCardSlot]:
    """A virtual reader of this test's own; APDUs are traced to the test's evidence.

    With an external kiosk: the kiosk's reader (its vpcd at the topology's `card_readers`).
    """
    from rig.harness.kiosk_kit import kiosk_card_slot

    if topology.external_kiosk is not None:
        slot = kiosk_card_slot(topology, reader_stack)
    else:
        slot = reader_stack.acquire()
    slot.evidence = evidence
    try:
        yield slot
    finally:
        slot.release()

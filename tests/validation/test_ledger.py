"""The order of tests (seed II.3 (9), II.5): the ledger, the order rule, `rig ledger`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rig.harness.cli import app
from rig.harness.config import load_topology
from rig.harness.plans import PlanError, load_plan
from rig.harness.stages import DeviceKind, Stage, StageError, earlier_stages, parse_stage
from rig.harness.validation.ledger import Entry, Ledger, LedgerError, OrderError, device_key
from rig.harness.validation.marker import read_marker
from rig.harness.validation.run_record import RunRecord, reference_server
from tests.validation.conftest import finish_run

SERVER = device_key(reference_server())


def later_plan(tmp_path: Path) -> Path:
    """A plan of the second stage (a municipality's rehearsal of the centre connection)."""
    path = tmp_path / "centre-rehearsal.yaml"
    path.write_text(
        "name: centre-rehearsal\nstage: centre-connection\nselect:\n  markers: [municipal_server]\n",
        encoding="utf-8",
    )
    return path


def test_the_seed_order_per_device() -> None:
    assert earlier_stages(DeviceKind.ISSUANCE_SERVER, Stage.REAL_STORE) == (
        Stage.PRE_EVALUATION,
        Stage.CENTRE_CONNECTION,
        Stage.PSEUDO_STORE,
        Stage.OPERATIONS,
    )
    assert earlier_stages(DeviceKind.KIOSK, Stage.PSEUDO_STORE) == (Stage.KIOSK_CONFORMANCE,)
    assert parse_stage("operations") == (DeviceKind.ISSUANCE_SERVER, Stage.OPERATIONS)
    with pytest.raises(StageError, match="say which with `device:`"):
        parse_stage("pseudo-store")
    with pytest.raises(StageError, match="unknown stage 'dry-run'"):
        parse_stage("dry-run")
    with pytest.raises(StageError, match="a kiosk has no stage 'operations'"):
        parse_stage("operations", "kiosk")


def test_shipped_plans_know_their_stage(tmp_path: Path) -> None:
    assert load_plan("municipal-server").stage is Stage.PRE_EVALUATION
    assert load_plan("kiosk-conformance").stage is Stage.KIOSK_CONFORMANCE
    assert load_plan("full").stage is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nstage: pseudo-store\n", encoding="utf-8")
    with pytest.raises(PlanError, match="say which with `device:`"):
        load_plan(str(bad))


def test_a_later_stage_is_refused_until_the_earlier_one_passed(tmp_path: Path) -> None:
    ledger = tmp_path / "reports" / "plan-ledger.jsonl"
    plan, topology = load_plan(str(later_plan(tmp_path))), load_topology(None)
    with pytest.raises(OrderError, match="has not passed pre-evaluation"):
        RunRecord.begin(plan, topology, None, ledger, allow_out_of_order=False)
    # a failed pre-evaluation, and one narrowed with -k, do not count
    finish_run(tmp_path / "r1", ledger, plan="municipal-server", exit_code=1)
    with pytest.raises(OrderError):
        RunRecord.begin(plan, topology, None, ledger, allow_out_of_order=False)
    finish_run(tmp_path / "r2", ledger, plan="municipal-server")
    record = RunRecord.begin(plan, topology, None, ledger, allow_out_of_order=False)
    assert not record.out_of_order
    outcomes = [(e.stage, e.outcome) for e in Ledger(ledger).entries(SERVER)]
    assert outcomes == [("pre-evaluation", "failed"), ("pre-evaluation", "passed")]


def test_rig_run_refuses_before_any_scenario_runs(tmp_path: Path) -> None:
    from rig.harness.runner import run_plan

    report = tmp_path / "reports" / "latest"
    with pytest.raises(OrderError, match="before centre-connection"):
        run_plan(str(later_plan(tmp_path)), None, report, ledger=tmp_path / "l.jsonl")
    assert not (report / "results.json").exists()
    result = CliRunner().invoke(
        app,
        ["run", "--plan", str(later_plan(tmp_path)), "--report-dir", str(report),
         "--ledger", str(tmp_path / "l.jsonl")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--out-of-order" in " ".join(result.output.split())


def test_out_of_order_runs_are_marked_in_ledger_marker_and_report_meta(tmp_path: Path) -> None:
    ledger = tmp_path / "plan-ledger.jsonl"
    plan = load_plan(str(later_plan(tmp_path)))
    record = RunRecord.begin(plan, load_topology(None), None, ledger, allow_out_of_order=True)
    assert record.out_of_order and record.missing == ["pre-evaluation"]
    assert record.order_meta()["out_of_order"] is True
    report = tmp_path / "r"
    report.mkdir()
    (report / "index.html").write_text("x", encoding="utf-8")
    summary = {"verdict": "pass", "tests": 1, "totals": {"passed": 1}, "new_failures": []}
    record.finish(report, summary, 0, {}, narrowed=None, expected_failures=None)
    [entry] = Ledger(ledger).entries()
    assert (entry.stage, entry.outcome, entry.in_order) == ("centre-connection", "passed", False)
    order = read_marker(report)["order"]
    assert order["out_of_order"] is True and order["missing"] == ["pre-evaluation"]
    assert order["passed_in_order"] == [
        {
            "stage": "centre-connection",
            "at": entry.at,
            "plan": "centre-rehearsal",
            "in_order": False,
        }
    ]


def test_a_narrowed_run_is_partial_and_never_passes_its_stage(tmp_path: Path) -> None:
    ledger = tmp_path / "l.jsonl"
    record = RunRecord.begin(
        load_plan("municipal-server"), load_topology(None), None, ledger, allow_out_of_order=False
    )
    report = tmp_path / "r"
    report.mkdir()
    summary = {"verdict": "pass", "tests": 1, "totals": {"passed": 1}, "new_failures": []}
    record.finish(report, summary, 0, {}, narrowed="-k one", expected_failures=None)
    assert [e.outcome for e in Ledger(ledger).entries()] == ["partial"]
    assert Ledger(ledger).missing_before(
        SERVER, DeviceKind.ISSUANCE_SERVER, Stage.CENTRE_CONNECTION
    )


def test_a_new_kiosk_build_starts_the_sequence_again() -> None:
    one = {
        "kind": "kiosk",
        "vendor": "V",
        "model": "M",
        "software_version": "2.0",
        "build_hash": "a1",
    }
    assert device_key(one) == "kiosk:V/M/2.0@a1"
    assert device_key({**one, "build_hash": "b2"}) != device_key(one)
    assert device_key({"kind": "issuance-server", "url": "https://127.0.0.2:9443/api"}) == (
        "issuance-server:https://127.0.0.2:9443/api"
    )


def test_two_processes_appending_at_once_lose_nothing(tmp_path: Path) -> None:
    ledger = tmp_path / "l.jsonl"
    script = (
        "import sys\n"
        "from rig.harness.validation.ledger import Entry, Ledger\n"
        "book = Ledger(sys.argv[1])\n"
        "for i in range(150):\n"
        "    book.append(Entry(at=str(i), device=sys.argv[2], kind='kiosk',\n"
        "                      stage='kiosk-conformance', outcome='failed', note='x' * 3000))\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(ledger), f"kiosk:{n}"])
        for n in ("a", "b")
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    entries = Ledger(ledger).entries()
    assert len(entries) == 300
    assert sorted({e.device for e in entries}) == ["kiosk:a", "kiosk:b"]


def test_an_unreadable_ledger_is_named_by_line(tmp_path: Path) -> None:
    ledger = tmp_path / "l.jsonl"
    good = Entry(
        at="t", device="kiosk:x", kind="kiosk", stage="kiosk-conformance", outcome="passed"
    )
    ledger.write_text(json.dumps(good.as_dict()) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(LedgerError, match=r"l\.jsonl:2: not JSON"):
        Ledger(ledger).entries()
    with pytest.raises(LedgerError, match=r"l\.jsonl:2"):
        Ledger(ledger).append(good)  # nothing is added to a broken ledger
    result = CliRunner().invoke(app, ["ledger", "show", "--ledger", str(ledger)])
    assert result.exit_code == 2 and "not JSON" in result.output


def test_stages_outside_the_rig_are_recorded_in_order(tmp_path: Path) -> None:
    ledger = tmp_path / "reports" / "plan-ledger.jsonl"
    cli = CliRunner()

    def record(stage: str, *extra: str) -> tuple[int, str]:
        result = cli.invoke(
            app,
            ["ledger", "record", stage, "--device", SERVER, "--outcome", "passed",
             "--note", "J-LIS test venue, 2026-11-02", "--ledger", str(ledger), *extra],
        )  # fmt: skip
        return result.exit_code, " ".join(result.output.split())

    code, output = record("centre-connection")
    assert code == 2 and "has not passed pre-evaluation" in output
    finish_run(tmp_path / "reports" / "pre", ledger, plan="municipal-server")
    assert record("centre-connection")[0] == 0
    code, output = record("operations")
    assert code == 2 and "has not passed pseudo-store" in output
    assert record("operations", "--out-of-order")[0] == 0
    code, output = record("pseudo-store", "--kind", "kiosk")
    assert code == 2 and "is not a kiosk" in output

    # the package of the next run records the passes in the order they happened
    last = tmp_path / "reports" / "again"
    finish_run(last, ledger, plan="municipal-server")
    order = read_marker(last)["order"]
    assert [p["stage"] for p in order["passed_in_order"]] == [
        "pre-evaluation",
        "centre-connection",
        "operations",
    ]
    assert [p["in_order"] for p in order["passed_in_order"]] == [True, True, False]
    assert order["sequence"][0] == "pre-evaluation"
    shown = cli.invoke(app, ["ledger", "show", "--ledger", str(ledger), "--device", SERVER])
    assert "OUT OF ORDER (missing pseudo-store)" in " ".join(shown.output.split())


def test_unstaged_plans_neither_read_nor_write_the_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "l.jsonl"
    ledger.write_text("{not a ledger\n", encoding="utf-8")
    finish_run(tmp_path / "r", ledger, plan="full")
    marker = read_marker(tmp_path / "r")
    assert marker["order"]["stage"] is None and marker["order"]["ledger"] == []
    assert marker["device"]["kind"] == "reference-world"
    assert ledger.read_text(encoding="utf-8") == "{not a ledger\n"


def test_rig_run_out_of_order_runs_and_marks_report_ledger_and_package(tmp_path: Path) -> None:
    """A real `rig run` of a later stage (its scenarios: the fast ones of this feature)."""
    from rig.harness.runner import run_plan
    from tests.validation.conftest import write_signer

    plan = tmp_path / "centre-rehearsal.yaml"
    plan.write_text(
        "name: centre-rehearsal\ntitle: Centre connection rehearsal\nstage: centre-connection\n"
        "select:\n  areas: [validation]\n",
        encoding="utf-8",
    )
    report, ledger = tmp_path / "reports" / "latest", tmp_path / "reports" / "plan-ledger.jsonl"
    outcome = run_plan(str(plan), None, report, ledger=ledger, out_of_order=True)
    assert outcome.exit_code == 0 and outcome.summary["tests"] == 2
    page = (report / "index.html").read_text(encoding="utf-8")
    assert "Centre connection rehearsal" in page
    assert (
        "OUT OF ORDER: stage centre-connection ran before the device passed pre-evaluation" in page
    )
    [entry] = Ledger(ledger).entries()
    assert (entry.stage, entry.outcome, entry.in_order) == ("centre-connection", "passed", False)
    signer = write_signer(tmp_path / "pki", "operator")
    cli = CliRunner()
    archive = str(tmp_path / "p.tar.gz")
    made = cli.invoke(app, ["package", "create", str(report), "--output", archive,
                            "--key", str(signer.key), "--cert", str(signer.cert)])  # fmt: skip
    assert made.exit_code == 0, made.output
    checked = cli.invoke(app, ["package", "verify", archive, "--trust", str(signer.cert)])
    assert checked.exit_code == 0, checked.output
    assert "stage centre-connection (OUT OF ORDER)" in " ".join(checked.output.split())

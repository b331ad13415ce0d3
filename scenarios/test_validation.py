"""Results a municipality or a store operator can trust: the order of the tests before going
live (seed II.3 (9), II.5) and the signed validation package of a finished run (DESIGN.md:
Scale). The rig's own duties, judged at what it hands over: its ledger, marker and archive."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from rig.core.evidence import EvidenceStore
from rig.harness.config import load_topology
from rig.harness.plans import load_plan
from rig.harness.validation.ledger import Ledger, OrderError
from rig.harness.validation.marker import read_marker
from rig.harness.validation.package import PackageRefused, create_package, verify_package
from rig.harness.validation.run_record import RunRecord
from rig.harness.validation.signing import write_self_signed_signer

SUMMARY = {"verdict": "pass", "tests": 1, "totals": {"passed": 1}, "new_failures": []}


def _stage_plan(folder: Path, name: str, stage: str) -> str:
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\nstage: {stage}\nselect: {{}}\n", encoding="utf-8")
    return str(path)


def _finished(report: Path, ledger: Path, plan: str, *, out_of_order: bool = False) -> RunRecord:
    record = RunRecord.begin(
        load_plan(plan), load_topology(None), None, ledger, allow_out_of_order=out_of_order
    )
    (report / "evidence").mkdir(parents=True)
    (report / "evidence" / "trace.log").write_text("frames\n", encoding="utf-8")
    (report / "index.html").write_text("<p>PASS</p>", encoding="utf-8")
    record.finish(report, SUMMARY, 0, {"rig": "scenario"}, narrowed=None, expected_failures=None)
    return record


@pytest.mark.requirement("TEST-006")
def test_plans_pass_in_the_seed_order_or_are_refused(
    tmp_path: Path, evidence: EvidenceStore
) -> None:
    ledger = tmp_path / "plan-ledger.jsonl"
    rehearsal = _stage_plan(tmp_path, "centre-rehearsal", "centre-connection")
    drill = _stage_plan(tmp_path, "operations-drill", "operations")
    with pytest.raises(OrderError) as refused:
        RunRecord.begin(
            load_plan(rehearsal), load_topology(None), None, ledger, allow_out_of_order=False
        )
    assert refused.value.missing and refused.value.missing[0].value == "pre-evaluation"
    _finished(tmp_path / "pre", ledger, "municipal-server")
    _finished(tmp_path / "centre", ledger, rehearsal)
    # the pseudo-store stage is skipped: the operations drill runs only when overridden, marked
    last = _finished(tmp_path / "ops", ledger, drill, out_of_order=True)
    entries = Ledger(ledger).entries(last.key)
    evidence.record("ledger", "entries", entries=[e.as_dict() for e in entries])
    assert [(e.stage, e.in_order) for e in entries] == [
        ("pre-evaluation", True),
        ("centre-connection", True),
        ("operations", False),
    ]
    order = read_marker(tmp_path / "ops")["order"]
    assert order["out_of_order"] is True and order["missing"] == ["pseudo-store"]
    assert [p["stage"] for p in order["passed_in_order"]] == [
        "pre-evaluation",
        "centre-connection",
        "operations",
    ]


@pytest.mark.requirement("TEST-007")
def test_a_finished_run_becomes_a_package_that_shows_tampering(
    tmp_path: Path, evidence: EvidenceStore
) -> None:
    key, cert = write_self_signed_signer(tmp_path, "scenario operator")
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "index.html").write_text("<p>PASS</p>", encoding="utf-8")
    with pytest.raises(PackageRefused, match="no finished run"):
        create_package(unfinished, tmp_path / "u.tar.gz", key, cert)

    report = tmp_path / "reports" / "latest"
    _finished(report, tmp_path / "reports" / "plan-ledger.jsonl", "kiosk-conformance")
    archive = tmp_path / "package.tar.gz"
    create_package(report, archive, key, cert)
    assert verify_package(archive, [cert]).ok

    with tarfile.open(archive, "r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]
    files["report/index.html"] = b"<p>PASS, honestly</p>"
    del files["report/evidence/trace.log"]
    files["report/extra.html"] = b"x"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    result = verify_package(archive, [cert])
    evidence.record("package", "verify", problems=result.problems)
    assert sorted(result.problems) == [
        "added: report/extra.html",
        "altered: report/index.html",
        "removed: report/evidence/trace.log",
    ]
    manifest = json.loads(files["MANIFEST.json"])
    assert manifest["device"]["kind"] == "kiosk" and manifest["device"]["build_hash"]

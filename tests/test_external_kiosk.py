"""The kiosk-conformance plan against a kiosk outside the rig's process.

The reference kiosk runs as a separate process (`rig kiosk`), configured only from the kiosk
kit that `rig kiosk-kit` writes, with a clock of its own; `rig run --plan kiosk-conformance`
drives it through the robot protocol and the rig's devices, a fresh world per scenario at
the kit's fixed addresses, as it would a vendor's kiosk.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rig.config import TopologyError, load_topology
from rig.pcsc import ReaderStack
from rig.runner import check_runnable

from .rig_process import free_ports, rig, rig_party, run_plan
from .validation.conftest import write_signer

SELECTION = (
    "test_pseudo_store_issuance_by_each_method"
    " or test_restart_during_payment"
    " or test_every_message_of_a_transaction_goes_over_tls_with_the_kiosk_certificate"
)


def _topology(folder: Path, reader_port: int, robot_port: int) -> Path:
    centre, ipp = free_ports(2)
    path = folder / "topology.yaml"
    document = {
        "name": "separate-process-kiosk",
        "kiosk": {
            "mode": "external",
            "robot_url": f"http://127.0.0.1:{robot_port}/robot",
            "kit": "kit",
            "centre_port": centre,
            "ipp_port": ipp,
        },
        "card_readers": {"vicc_host": "127.0.0.1", "port_base": reader_port},
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kiosk_process(
    tmp_path_factory: pytest.TempPathFactory, reader_stack: ReaderStack
) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("separate-kiosk")
    reader = reader_stack.readers()[-1]
    (robot_port,) = free_ports(1)
    topology = _topology(folder, reader_stack.reader_port(reader), robot_port)
    kit = rig("kiosk-kit", "--topology", str(topology), timeout=120)
    assert kit.returncode == 0, kit.stdout + kit.stderr
    with rig_party(
        "kiosk", "--kit", str(folder / "kit"), "--port", str(robot_port),
        "--work-dir", str(folder / "kiosk"), log=folder / "kiosk.log",
    ):  # fmt: skip
        yield {"folder": folder, "topology": topology, "reader": reader}


def test_the_kit_names_what_the_kiosk_is_configured_with(kiosk_process: dict[str, Any]) -> None:
    kit = json.loads((kiosk_process["folder"] / "kit" / "kiosk.json").read_text())
    topology = load_topology(kiosk_process["topology"])
    assert kit["reader_name"] == kiosk_process["reader"]
    assert kit["centre_url"] == f"https://127.0.0.1:{topology.kiosk.centre_port}/v1"
    assert kit["ipp_uri"] == f"ipp://127.0.0.1:{topology.kiosk.ipp_port}/ipp/print"
    assert kit["bill_validator_port"].endswith("kit/cash/bill_validator_port.tty")
    for key in ("ca_bundle", "kiosk_client_cert", "kiosk_client_key"):
        assert Path(kit[key]).is_file()
    check_runnable("kiosk-conformance", topology)  # the adapter answers
    check_runnable("pseudo-store", topology)  # the deprecated name still works


def test_kiosk_conformance_plan_against_the_separate_kiosk(
    kiosk_process: dict[str, Any], tmp_path: Path
) -> None:
    outcomes = run_plan("kiosk-conformance", kiosk_process["topology"], tmp_path / "r", SELECTION)
    passed = [n for n, t in outcomes.items() if t["outcome"] == "passed"]
    assert len([n for n in passed if n.startswith("test_pseudo_store_issuance")]) == 2
    # looking into, or reconfiguring, the reference kiosk is not applicable to this one
    for name in (
        "test_restart_during_payment",
        "test_every_message_of_a_transaction_goes_over_tls_with_the_kiosk_certificate",
    ):
        assert outcomes[name]["outcome"] == "skipped"
        assert "not applicable" in outcomes[name]["message"]
    # the issuances happened in the other process: its own audit log has them, and the
    # rig reset it at the start of each scenario
    audit = [
        json.loads(line)
        for line in (kiosk_process["folder"] / "kiosk" / "state" / "audit.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    events = [r.get("event") for r in audit]
    assert events.count("kiosk_reset") >= 2
    assert "paid" in events
    # the finished run names the kiosk as its GET /info does; narrowed with -k, it is recorded
    # as partial (it passes no stage); its validation package verifies
    marker = json.loads((tmp_path / "r" / "run-finished.json").read_text(encoding="utf-8"))
    assert marker["device"]["vendor"] == "Konbini Rig" and marker["device"]["build_hash"]
    assert marker["order"]["outcome"] == "partial"
    signer = write_signer(tmp_path / "pki", "operator")
    archive = str(tmp_path / "package.tar.gz")
    done = rig("package", "create", str(tmp_path / "r"), "--output", archive,
               "--key", str(signer.key), "--cert", str(signer.cert))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    done = rig("package", "verify", archive, "--trust", str(signer.cert))
    assert done.returncode == 0, done.stdout + done.stderr


def test_run_refuses_a_kiosk_that_does_not_answer(tmp_path: Path) -> None:
    (robot_port,) = free_ports(1)
    topology = load_topology(_topology(tmp_path, 40100, robot_port))
    with pytest.raises(TopologyError, match="does not answer") as err:
        check_runnable("kiosk-conformance", topology)
    assert "kiosk.json" in str(err.value)


def test_only_the_kiosk_conformance_plan_drives_an_external_kiosk(tmp_path: Path) -> None:
    (robot_port,) = free_ports(1)
    topology = load_topology(_topology(tmp_path, 40100, robot_port))
    with pytest.raises(TopologyError, match="--plan kiosk-conformance"):
        check_runnable("full", topology)

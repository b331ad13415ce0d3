"""The kiosk-conformance plan against a kiosk outside the rig's process.

The reference kiosk runs as a separate process (`rig kiosk`), configured only from the kiosk
kit that `rig kiosk-kit` writes, with a clock of its own; `rig run --plan kiosk-conformance`
drives it through the robot protocol and the rig's devices, a fresh world per scenario at
the kit's fixed addresses, as it would a vendor's kiosk. It declares the robot protocol's
extensions: its time-outs run in test-mode time, and the scenarios that reconfigure or
restart the kiosk apply to it. A relay in front of it (tests/kiosk_double.py) plays a kiosk
that declares no extension, or one that declares them and misbehaves.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from rig.core.drivers.kiosk_extensions import ExtensionError, KioskExtensionsClient
from rig.core.pcsc import ReaderStack
from rig.core.protocols.robot import KioskInfo
from rig.harness.config import TopologyError, load_topology
from rig.harness.runner import check_runnable

from .kiosk_double import misbehaving_kiosk
from .rig_process import free_ports, rig, rig_party, run_plan, wait_for_output
from .validation.conftest import write_signer

SELECTION = (
    "test_pseudo_store_issuance_by_each_method"
    " or test_restart_during_payment"
    " or test_every_message_of_a_transaction_goes_over_tls_with_the_kiosk_certificate"
    " or test_a_centre_outside_the_trust_anchor_gets_nothing and lgpki"
    " or test_forgotten_certificates_and_receipt"
    " or test_card_ap_is_authenticated_on_the_reader_before_removal and juki"
    " or test_restart_during_printing"
    " or test_no_pin_my_number_or_name_in_evidence_or_kiosk_state"
)
#: scenarios that read the kiosk's event log or storage (their extensions, or nothing)
INSPECTING = (
    "test_restart_during_printing",
    "test_no_pin_my_number_or_name_in_evidence_or_kiosk_state",
)
#: scenarios that reconfigure or restart the kiosk, and one that waits out time-outs
RECONFIGURING = (
    "test_restart_during_payment",
    "test_every_message_of_a_transaction_goes_over_tls_with_the_kiosk_certificate",
    "test_a_centre_outside_the_trust_anchor_gets_nothing[lgpki]",
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
    # this process holds the kiosk's reader as the kiosk starts: it must wait, and say for whom
    held = reader_stack.acquire(index=len(reader_stack.readers()) - 1)
    log = folder / "kiosk.log"
    with contextlib.ExitStack() as undo:
        undo.callback(held.release)  # release is idempotent: also if the kiosk never waits
        kiosk = undo.enter_context(rig_party(
            "kiosk", "--kit", str(folder / "kit"), "--port", str(robot_port),
            "--work-dir", str(folder / "kiosk"), log=log, ready="rig kiosk: waiting up to",
        ))  # fmt: skip
        held.release()
        wait_for_output(kiosk, log, "running", 120)
        yield {
            "folder": folder, "topology": topology, "reader": reader,
            "robot_url": f"http://127.0.0.1:{robot_port}/robot",
        }  # fmt: skip


def test_the_kiosk_waited_for_its_reader_and_named_who_held_it(
    kiosk_process: dict[str, Any],
) -> None:
    log = (kiosk_process["folder"] / "kiosk.log").read_text(encoding="utf-8")
    waited = log.split("rig kiosk: waiting up to 120 s: ", 1)[1].split("\n", 1)[0]
    assert waited.startswith(f"rig reader {kiosk_process['reader']!r} (vpcd port ")
    assert f"is held by process {os.getpid()} (" in waited
    assert log.index("rig kiosk: waiting") < log.index("rig kiosk: running")


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


def _via(kiosk_process: dict[str, Any], robot_url: str, name: str) -> Path:
    """The kiosk's topology, with the robot reached at `robot_url` (a relay)."""
    document = yaml.safe_load(kiosk_process["topology"].read_text(encoding="utf-8"))
    document["kiosk"]["robot_url"] = robot_url
    path: Path = kiosk_process["folder"] / f"topology-{name}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_kiosk_conformance_plan_against_the_separate_kiosk(
    kiosk_process: dict[str, Any], tmp_path: Path
) -> None:
    outcomes = run_plan("kiosk-conformance", kiosk_process["topology"], tmp_path / "r", SELECTION)
    passed = [n for n, t in outcomes.items() if t["outcome"] == "passed"]
    assert len([n for n in passed if n.startswith("test_pseudo_store_issuance")]) == 2
    # reconfiguring and restarting it through the configuration extension
    for name in RECONFIGURING:
        assert outcomes[name]["outcome"] == "passed", outcomes[name]["message"]
    # two time-outs (take reminder, receipt) jumped over in its test-mode time
    forgotten = outcomes["test_forgotten_certificates_and_receipt"]
    assert forgotten["outcome"] == "passed", forgotten["message"]
    assert forgotten["time"] == "test-mode time: 2 waits, 122 s skipped"
    assert forgotten["duration_s"] < 60, "no time-out was waited out in real time"
    # judged at the interfaces (the card's APDUs, the centre) rather than the kiosk's log
    card_ap = outcomes["test_card_ap_is_authenticated_on_the_reader_before_removal[juki-card-ap]"]
    assert card_ap["outcome"] == "passed", card_ap["message"]
    # its event log (GET /events) and storage (GET /storage) read through the extensions
    for name in INSPECTING:
        assert outcomes[name]["outcome"] == "passed", outcomes[name]["message"]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    assert summary["not_run"] == []
    assert {"nodeid": forgotten["nodeid"], "time": forgotten["time"]} in summary["time_outs"]
    assert "test-mode time: 2 waits" in (tmp_path / "r" / "index.html").read_text()
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


def test_without_extensions_what_reconfigures_is_not_applicable(
    kiosk_process: dict[str, Any], tmp_path: Path
) -> None:
    """A kiosk that declares no extension (the relay hides them from /info): the report says
    why the reconfiguring scenarios did not run, and nothing is asked of the kiosk for them."""
    with misbehaving_kiosk(kiosk_process["robot_url"], "no_extensions") as relay:
        topology = _via(kiosk_process, relay, "plain")
        keyword = " or ".join(n.split("[")[0] for n in (*RECONFIGURING, *INSPECTING))
        outcomes = run_plan("kiosk-conformance", topology, tmp_path / "r", keyword)
    assert len(outcomes) == 6
    for name, outcome in outcomes.items():
        assert outcome["outcome"] == "skipped", name
        if name in INSPECTING:
            part = "events" if "restart" in name else "storage"
            assert f"declares no {part} extension" in outcome["message"], outcome["message"]
            continue
        assert "declares no configuration extension with" in outcome["message"]
        assert "application" in outcome["message"]


def test_an_event_log_or_storage_that_misbehaves_is_named(kiosk_process: dict[str, Any]) -> None:
    """Entries numbered out of order, a stored file that is not base64: ExtensionError (the
    scenario's failure) names the route and what came back."""
    with misbehaving_kiosk(
        kiosk_process["robot_url"], "events_out_of_order", "storage_garbage"
    ) as relay, httpx.Client(base_url=relay, timeout=30) as http:  # fmt: skip
        declared = KioskInfo.model_validate_json(http.get("/info").content).extensions
        assert declared.events is not None and declared.storage is not None
        extensions = KioskExtensionsClient(http, declared)
        with pytest.raises(ExtensionError, match=r"GET /events\?since=0: entries numbered \["):
            extensions.events()
        with pytest.raises(ExtensionError, match=r"GET /storage: .*content_b64 is not base64"):
            extensions.stored()
    # straight to the kiosk, both answer and decode (what they hold after issuances: the
    # plan's run above, test_restart_during_printing and test_no_pin_my_number_...)
    with httpx.Client(base_url=kiosk_process["robot_url"], timeout=30) as http:
        extensions = KioskExtensionsClient(http, declared)
        events = extensions.events()
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert isinstance(extensions.stored(), dict)
        bad = http.get("/events", params={"since": "-1"})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"


def test_a_kiosk_that_misbehaves_fails_the_scenario_naming_the_route(
    kiosk_process: dict[str, Any], tmp_path: Path
) -> None:
    """It declares the extensions, then its clock does not move, its settings are refused and
    its restart answers garbage: each scenario fails naming the route and what came back, and
    the run goes on to the next (the relay forwards everything else to the real kiosk)."""
    with misbehaving_kiosk(
        kiosk_process["robot_url"], "frozen_time", "config_refused", "restart_garbage"
    ) as relay:
        topology = _via(kiosk_process, relay, "misbehaving")
        done = rig(
            "run", "--plan", "kiosk-conformance", "--topology", str(topology),
            "--report-dir", str(tmp_path / "r"), "-k",
            "test_forgotten_receipt_only or test_restart_during_payment or "
            "test_a_centre_outside_the_trust_anchor_gets_nothing and lgpki",
        )  # fmt: skip
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
    outcomes = {t["nodeid"].split("::")[-1]: t for t in results["tests"]}
    time_out = outcomes["test_forgotten_receipt_only"]
    assert time_out["outcome"] == "failed"
    assert "POST /time {'advance_s': 61}: the kiosk's clock moved" in time_out["message"]
    anchor = outcomes["test_a_centre_outside_the_trust_anchor_gets_nothing[lgpki]"]
    assert anchor["outcome"] == "failed"
    assert "POST /config" in anchor["message"] and "409" in anchor["message"]
    assert "settings are locked" in anchor["message"]
    restart = outcomes["test_restart_during_payment"]
    assert restart["outcome"] == "failed"
    assert "POST /restart {'part': 'application'}" in restart["message"]
    assert "<html>restarting...</html>" in restart["message"]
    # the run went on after each: all three were judged, each on its own misbehaviour
    assert len(outcomes) == 3


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

"""`rig load` end to end on this machine: the world in its own process, Locust in others.

One emulated world (rig.harness.load.world_process) serves the module. A master and two worker
processes run a short bounded campaign against it: every document is judged, the master
merges the workers' counts, and the emulated world shows 0 cross-talk. The same campaign run
locally with the judge's test double (every 3rd document swapped for the previous
applicant's) must fail with the cross-talk counted and its evidence kept.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.municipal.config import load_municipalities
from rig.harness.load.world_process import (
    APPLICANTS_PER_REGISTRY,
    MAX_HOUSEHOLDS,
    registry_factor,
    widened_municipalities,
)
from tests.rig_process import RIG, ROOT, free_ports

BOUNDS = ["--duration", "6s", "--max-transactions", "30"]
#: every path at once: JPKI and card AP, residents and non-residents, several types
PROFILE = """\
name: test-mix
shape: {kind: constant, rate: 6}
mix:
  cert_types: {resident_record: 0.5, seal_registration: 0.3, resident_record_entries: 0.2}
  copies: {1: 0.8, 2: 0.2}
  methods: {jpki: 0.6, card_ap: 0.4}
  non_residents: 0.3
pacing_s: 3
"""


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("load-world")
    log = (folder / "world.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rig.harness.load.world_process", "--folder", str(folder),
         "--applicants", "45", "--kiosks", "8"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while not (folder / "kit.json").exists():
            assert proc.poll() is None, (folder / "world.log").read_text()
            assert time.monotonic() < deadline, "the load world did not come up"
            time.sleep(0.5)
        yield folder
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _load(*args: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*RIG, "load", *args], cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def _wait(proc: subprocess.Popen[bytes], log: Path, timeout: float = 150) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"rig load did not end: {log.read_text()[-3000:]}") from None


def _result(out: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((out / "load.json").read_text(encoding="utf-8"))
    return result


def test_master_and_two_workers_judge_every_document(kit: Path, tmp_path: Path) -> None:
    (port,) = free_ports(1)
    out = tmp_path / "run"
    profile = tmp_path / "mix.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    master = _load(
        "--master", "--expect-workers", "2", "--master-port", str(port), "--kit", str(kit),
        "--profile", str(profile), "--out", str(out), *BOUNDS, log=tmp_path / "master.log",
    )  # fmt: skip
    workers = [
        _load(
            "--worker",
            "--master-port",
            str(port),
            "--out",
            str(tmp_path / f"w{n}"),
            log=tmp_path / f"worker{n}.log",
        )
        for n in (1, 2)
    ]
    code = _wait(master, tmp_path / "master.log")
    for n, worker in enumerate(workers, start=1):
        assert _wait(worker, tmp_path / f"worker{n}.log", 60) == 0
    result = _result(out)
    judge = result["judge"]
    assert code == 0, (result["reasons"], (tmp_path / "master.log").read_text()[-2000:])
    assert result["workers"] == 2
    assert 0 < judge["completed"] <= 30 and judge["started"] <= 30
    assert judge["documents"] == judge["completed"]  # every document judged, not a sample
    assert judge["cross_talk"] == judge["bad_documents"] == judge["duplicated"] == 0
    assert judge["lost"] == judge["failed"] == 0
    steps = {name.split(" ", 1)[1] for name in result["steps"]}
    assert {"open", "auth", "menu", "request", "download", "payment", "complete"} <= steps
    assert {"challenge", "pin"} <= steps  # card AP
    assert any("(non-resident)" in kind for kind in judge["documents_by_type"])
    for name in ("throughput.png", "latency.png", "index.html", "locust_stats.csv"):
        assert (out / name).stat().st_size > 0
    assert "PASSED" in (out / "index.html").read_text(encoding="utf-8")


def test_the_judge_catches_a_swapped_document(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "swapped"
    proc = _load(
        "--kit", str(kit), "--out", str(out), "--swap-documents-every", "3", *BOUNDS,
        log=tmp_path / "local.log",
    )  # fmt: skip
    code = _wait(proc, tmp_path / "local.log")
    result = _result(out)
    judge = result["judge"]
    assert code == 1
    assert judge["cross_talk"] >= 1 and judge["problems"]["cross_talk"] >= 1
    assert any("cross-talk" in reason for reason in result["reasons"])
    swapped = judge["bad"][0]
    assert any(p["kind"] == "cross_talk" for p in swapped["problems"])
    records = (out / "evidence" / "local" / "load-judge.jsonl").read_text(encoding="utf-8")
    assert swapped["resident_id"] in records
    assert (out / "evidence" / "local" / "attachments" / f"{swapped['transaction']}.pdf").exists()
    assert "2468" not in records  # the card-AP PIN of the kit never reaches the evidence


def test_sigterm_ends_the_run_with_a_partial_report(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "interrupted"
    log = tmp_path / "interrupted.log"
    proc = _load("--kit", str(kit), "--out", str(out), "--duration", "5m", log=log)
    deadline = time.monotonic() + 120
    while "Ramping to" not in log.read_text() and "All users spawned" not in log.read_text():
        assert proc.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.5)
    time.sleep(3)  # some transactions under way
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = _wait(proc, log, 120)
    result = _result(out)
    assert result["interrupted"] is True
    assert code in (0, 1) and time.monotonic() - began < 90
    assert result["judge"]["started"] < 1000  # the profile's cap was not what ended it
    assert result["judge"]["documents"] == result["judge"]["completed"]


def test_an_unreachable_target_is_counted_per_kind_and_the_run_ends(
    kit: Path, tmp_path: Path
) -> None:
    (port,) = free_ports(1)  # nothing listens there
    data = json.loads((kit / "kit.json").read_text(encoding="utf-8"))
    data["centre_url"] = f"https://127.0.0.1:{port}/v1"
    dead = tmp_path / "dead-kit"
    dead.mkdir()
    (dead / "kit.json").write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "dead"
    proc = _load("--kit", str(dead), "--out", str(out), "--duration", "4s",
                 "--max-transactions", "10", log=tmp_path / "dead.log")  # fmt: skip
    code = _wait(proc, tmp_path / "dead.log", 120)
    result = _result(out)
    judge = result["judge"]
    assert code == 1
    assert judge["failed"] == judge["started"] > 0 and judge["completed"] == 0
    assert judge["errors"] == {"open:ConnectError": judge["failed"]}
    assert any("error rate" in reason for reason in result["reasons"])


def test_server_mode_speaks_lgwan_and_judges_every_document(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "server"
    profile = tmp_path / "mix.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    proc = _load("--kit", str(kit), "--server-mode", "--profile", str(profile),
                 "--out", str(out), *BOUNDS, log=tmp_path / "server.log")  # fmt: skip
    code = _wait(proc, tmp_path / "server.log")
    result = _result(out)
    judge = result["judge"]
    assert code == 0, result["reasons"]
    assert result["mode"] == "server"
    assert judge["completed"] > 0 and judge["documents"] == judge["completed"]
    assert judge["cross_talk"] == judge["failed"] == 0
    assert {name.split(" ", 1)[0] for name in result["steps"]} == {"LGWAN"}


ROUNDS_PROFILE = """\
name: test-rounds
shape: {kind: rounds, sessions: 20, rounds: 2}
mix:
  cert_types: {resident_record: 0.6, seal_registration: 0.4}
  methods: {jpki: 0.7, card_ap: 0.3}
duration_s: 120
max_transactions: 40
error_rate_threshold: 0
"""


def test_sessions_released_together_in_rounds_are_distinct_applicants(
    kit: Path, tmp_path: Path
) -> None:
    """The burst-500 shape, small: 20 sessions at once, twice, every document judged."""
    out = tmp_path / "rounds"
    profile = tmp_path / "rounds.yaml"
    profile.write_text(ROUNDS_PROFILE, encoding="utf-8")
    proc = _load("--kit", str(kit), "--profile", str(profile), "--out", str(out),
                 log=tmp_path / "rounds.log")  # fmt: skip
    code = _wait(proc, tmp_path / "rounds.log")
    result = _result(out)
    judge = result["judge"]
    assert code == 0, (result["reasons"], judge["errors"])
    assert judge["completed"] == judge["documents"] == 40
    assert judge["started"] == 40 and judge["failed"] == judge["cross_talk"] == 0
    rounds = judge["rounds"]
    assert [r["round"] for r in rounds] == [1, 2]
    assert all(r["sessions"] == r["applicants"] == 20 and r["seconds"] > 0 for r in rounds)
    assert "Rounds (sessions released together)" in (out / "index.html").read_text("utf-8")
    figures = result["figures"]
    assert figures["rounds"] == 2 and figures["issuances_per_s_over_rounds"] > 0
    cpu = result["cpu"]
    assert cpu["world_s"] is None  # the world was started elsewhere (--kit)
    assert cpu["generator_s"] > cpu["judge_s"] > 0 and cpu["transactions"] == 40


@pytest.mark.slow  # a world of two processes comes up: about half a minute
def test_a_world_with_a_separate_issuance_server(tmp_path: Path) -> None:
    out = tmp_path / "separate"
    proc = _load("--separate-municipal", "--out", str(out), "--duration", "5s",
                 "--max-transactions", "12", log=tmp_path / "separate.log")  # fmt: skip
    code = _wait(proc, tmp_path / "separate.log", 300)
    result = _result(out)
    judge = result["judge"]
    assert code == 0, result["reasons"]
    assert result["target"] == "external-municipal"  # the centre in front of the other process
    assert judge["completed"] > 0 and judge["documents"] == judge["completed"]
    assert judge["cross_talk"] == judge["failed"] == 0
    assert result["cpu"]["world_s"] > 0
    assert "running" in (out / "world" / "municipal-server.log").read_text()


def test_rounds_with_fewer_applicants_than_sessions_do_not_start(kit: Path, tmp_path: Path) -> None:
    profile = tmp_path / "too-many.yaml"
    profile.write_text(ROUNDS_PROFILE.replace("sessions: 20", "sessions: 400"), "utf-8")
    log = tmp_path / "too-many.log"
    proc = _load("--kit", str(kit), "--profile", str(profile), "--out", str(tmp_path / "x"),
                 log=log)  # fmt: skip
    assert _wait(proc, log, 120) == 3
    assert "400 sessions released together need as many distinct applicants" in log.read_text()


def test_a_run_for_more_people_than_the_registry_holds_widens_its_municipalities() -> None:
    bundled = {c.code: c.registry.households for c in load_municipalities()}
    assert widened_municipalities(registry_factor(APPLICANTS_PER_REGISTRY)) is None
    factor = registry_factor(500)
    assert factor == 2
    widened = widened_municipalities(factor)
    assert widened is not None
    assert {c.code: c.registry.households for c in widened} == {
        code: min(MAX_HOUSEHOLDS, n * 2) for code, n in bundled.items()
    }

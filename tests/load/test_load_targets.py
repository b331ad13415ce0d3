"""`rig load` against other targets and clocks (slow: each builds its own world).

- an external issuance server (the emulated one run stand-alone, `rig municipal-server`),
  through the rig's centre (kiosk users) and directly over LGWAN (server mode);
- a run starting at 22:59 rig time: sessions from 23:00 are refused by the centre's hours
  and counted as refusals, not errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.rig_process import free_ports, rig, rig_party

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _run(*args: str) -> tuple[int, dict[str, Any], str]:
    done = rig("load", *args, timeout=600)
    out = Path(args[args.index("--out") + 1])
    result: dict[str, Any] = json.loads((out / "load.json").read_text(encoding="utf-8"))
    return done.returncode, result, done.stdout[-2000:] + done.stderr[-2000:]


def test_external_issuance_server_in_both_modes(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    work = tmp_path / "server"
    with rig_party(
        "municipal-server", "--port", str(port), "--work-dir", str(work),
        log=tmp_path / "server.log",
    ):  # fmt: skip
        topology = str(work / "topology.yaml")
        for mode in ([], ["--server-mode"]):
            out = tmp_path / f"run{len(mode)}"
            code, result, log = _run(
                "--topology", topology, *mode, "--out", str(out),
                "--duration", "10s", "--max-transactions", "30",
            )  # fmt: skip
            judge = result["judge"]
            assert code == 0, (result["reasons"], log)
            assert result["target"] == "external-municipal"
            assert result["mode"] == ("server" if mode else "centre")
            assert judge["completed"] > 0 and judge["documents"] == judge["completed"]
            assert judge["cross_talk"] == judge["failed"] == 0


def test_a_run_at_2259_sees_sessions_refused_at_2300(tmp_path: Path) -> None:
    out = tmp_path / "late"
    code, result, log = _run(
        "--start", "2026-11-24T22:59:50+09:00", "--out", str(out),
        "--duration", "30s", "--max-transactions", "300", "--applicants", "45", "--kiosks", "8",
    )  # fmt: skip
    judge = result["judge"]
    assert code == 0, (result["reasons"], log)
    assert judge["completed"] > 0  # before 23:00
    assert judge["refused"] > 0 and judge["failed"] == 0
    assert any(code.endswith(":centre_closed") for code in judge["refusals"])
    assert result["world_end"]["rig_time"] >= "2026-11-24T23:00"

"""Helpers for tests that run `rig` commands as separate processes (stand-alone parties)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RIG = [str(Path(sys.executable).parent / "rig")]


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def rig(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run a `rig` command to its end."""
    return subprocess.run([*RIG, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def wait_for_output(proc: subprocess.Popen[bytes], log: Path, text: str, timeout: float) -> None:
    """Return once `proc`'s output in `log` says `text`; fail if it ends or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{proc.args!r} did not say {text!r}: {log.read_text()}"
        time.sleep(0.3)


@contextmanager
def rig_party(
    *args: str, log: Path, ready: str = "running", timeout: float = 240
) -> Iterator[subprocess.Popen[bytes]]:
    """A long-running `rig` command, once its output says `ready`; stopped with SIGTERM."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*RIG, *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            wait_for_output(proc, log, ready, timeout)
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def run_plan(plan: str, topology: Path, report: Path, keyword: str) -> dict[str, dict[str, Any]]:
    """`rig run` of the scenarios of `plan` matching `keyword`; its exit must be 0. Returns
    each scenario's result (outcome, message) by test name."""
    done = rig(
        "run", "--plan", plan, "--topology", str(topology), "--report-dir", str(report),
        "-k", keyword,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((report / "results.json").read_text(encoding="utf-8"))
    return {t["nodeid"].split("::")[-1]: t for t in results["tests"]}

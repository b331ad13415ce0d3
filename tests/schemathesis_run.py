"""Run schemathesis (every check, bounded examples) against a running rig API over mutual TLS.

The fuzzer runs as its own process (its CLI is its stable interface) against the server the
test started; the run is deterministic and small, so it costs seconds in `make test`.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from rig.core.pki.tls import CertPair

DOCS = Path(__file__).resolve().parents[1] / "docs" / "api"
CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"
#: Examples per operation and phase: enough for the coverage phase's boundary cases and a
#: few random ones, cheap enough for every `make test`.
MAX_EXAMPLES = 2


def run_schemathesis(
    document: str,
    root_url: str,
    client: CertPair,
    server_ca: Path,
    work_dir: Path,
    operations: Sequence[str] = (),
) -> str:
    """Every check and the examples, coverage and fuzzing phases, on every operation or those
    with the given operationIds; the report on failure."""
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG),
        "run", str(DOCS / document),
        "--url", root_url,
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--tls-verify", str(server_ca),
        "--request-cert", str(client.cert),
        "--request-cert-key", str(client.key),
        "--no-color",
        *(arg for op in operations for arg in ("--include-operation-id", op)),
    ]  # fmt: skip
    # its own working folder: schemathesis keeps a cache there
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=240, check=False, cwd=work_dir
    )
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    return done.stdout

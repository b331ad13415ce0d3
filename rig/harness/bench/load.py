"""Load campaign benchmark: `rig load` for 60 s against the emulated world on loopback.

The world runs in two processes of its own (centre with the layout-only processing stage and
the OCSP responder in one, the emulated issuance server in another: `--separate-municipal`,
so the world is not held to one interpreter lock), one local Locust process runs the kiosks,
and every document is judged. 20 kiosks run transactions back to back (the 100 per second
asked for, with a 0.2 s pacing, is beyond what two cores deliver), so the figures are the
sustained capacity with every document judged and the latency 20 concurrent kiosks see:

- load_issuances_per_s: completed transactions per second over the active run;
- load_p99_ms: 99th percentile of one whole transaction, as the kiosks saw it;
- load_errors: failed transactions (any non-zero value is also a failed benchmark run);
- load_world_cpu_ms_per_tx, load_generator_cpu_ms_per_tx, load_judge_cpu_ms_per_tx: CPU time
  per transaction of the world process, of the Locust process, and of the judge within it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from rig.harness.bench import Figure

DURATION = "60s"
PROFILE = """\
name: bench
description: capacity of the emulated world, every document judged
shape: {kind: constant, rate: 100}  # x 0.2 s pacing = 20 kiosks back to back
mix:
  cert_types: {resident_record: 0.6, seal_registration: 0.25, resident_record_entries: 0.15}
  methods: {jpki: 0.85, card_ap: 0.15}
duration_s: 60
max_transactions: 20000
error_rate_threshold: 0.01
pacing_s: 0.2
"""


def measure() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="rig-bench-load-") as tmp:
        folder = Path(tmp)
        profile = folder / "bench.yaml"
        profile.write_text(PROFILE, encoding="utf-8")
        out = folder / "run"
        done = subprocess.run(
            [sys.executable, "-m", "rig.harness.cli", "load", "--profile", str(profile),
             "--duration", DURATION, "--out", str(out), "--separate-municipal"],
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        report = out / "load.json"
        if not report.exists():
            raise RuntimeError(f"rig load wrote no report: {done.stderr[-2000:]}")
        result = json.loads(report.read_text(encoding="utf-8"))
        figures = result["figures"]
        judge = result["judge"]
        if judge["cross_talk"] or judge["duplicated"] or judge["lost"]:
            raise RuntimeError(f"the load run failed its judgement: {result['reasons']}")
        cpu = result.get("cpu", {})
        return [
            Figure("load_issuances_per_s", float(figures["issuances_per_s"]), "issuances/s"),
            Figure("load_p99_ms", float(figures["p99_ms"] or 0), "ms"),
            Figure("load_errors", float(judge["failed"]), "transactions"),
            # where the CPU of one transaction goes (docs/load.md, "cpu"): on two cores
            # their sum, not waiting, sets the rate
            *(
                Figure(f"load_{part}_cpu_ms_per_tx", float(cpu[key]), "ms")
                for part, key in (
                    ("world", "world_ms_per_transaction"),
                    ("generator", "generator_ms_per_transaction"),
                    ("judge", "judge_ms_per_transaction"),
                )
                if cpu.get(key) is not None
            ),
        ]

"""Run every benchmark module in rig.harness.bench (or those named on the command line)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import rig.harness.bench
from rig.harness.bench import Figure


def main(argv: list[str]) -> int:
    names = argv or sorted(
        m.name
        for m in pkgutil.iter_modules(rig.harness.bench.__path__)
        if not m.name.startswith("_")
    )
    figures: list[Figure] = []
    failed: list[str] = []
    for name in names:
        module = importlib.import_module(f"rig.harness.bench.{name}")
        print(f"# {name}", flush=True)
        try:
            results = module.measure()
        except Exception as exc:  # a broken benchmark must not hide the others' figures
            print(f"# {name} FAILED: {exc!r}", flush=True)
            failed.append(name)
            continue
        for fig in results:
            print(fig.line(), flush=True)
        figures.extend(results)
    out = Path("build/bench.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                # wall time here only stamps the report; it decides nothing
                "measured_at": datetime.now(UTC).isoformat(),
                "machine": {"python": platform.python_version(), "cpus": platform.machine()},
                "figures": {f.name: {"value": f.value, "unit": f.unit} for f in figures},
                "failed": failed,
            },
            indent=2,
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Which requirements the scenarios verify: collect the scenarios, read their markers.

`python -m rig.harness.coverage` prints the uncovered requirements and exits 1
when any requirement of the catalogue has no scenario.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rig.core.requirements import Requirement, load_catalogue
from rig.harness.pytest_plugin import requirement_ids, scenario_area

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


@dataclass
class Coverage:
    scenarios: dict[str, list[str]] = field(default_factory=dict)  # nodeid → requirement ids
    areas: dict[str, str] = field(default_factory=dict)  # nodeid → scenario area

    def uncovered(self) -> list[Requirement]:
        covered = {rid for ids in self.scenarios.values() for rid in ids}
        return [req for req in load_catalogue() if req.id not in covered]

    def by_requirement(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for nodeid, ids in self.scenarios.items():
            for rid in ids:
                out.setdefault(rid, []).append(nodeid)
        return out


class _Collector:
    def __init__(self) -> None:
        self.coverage = Coverage()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            if scenario_area(item):
                self.coverage.scenarios[item.nodeid] = requirement_ids(item)
                self.coverage.areas[item.nodeid] = scenario_area(item)


def collect(path: Path = SCENARIO_DIR) -> Coverage:
    """Collect (without running) every scenario under `path`."""
    collector = _Collector()
    code = pytest.main(
        [str(path), "--collect-only", "-q", "-p", "no:cacheprovider"], plugins=[collector]
    )
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise RuntimeError(f"scenario collection failed with exit code {int(code)}")
    return collector.coverage


def main(argv: list[str]) -> int:
    coverage = collect()
    uncovered = coverage.uncovered()
    report: dict[str, Any] = {
        "scenarios": len(coverage.scenarios),
        "areas": sorted(set(coverage.areas.values())),
        "uncovered": [r.id for r in uncovered],
    }
    if "--json" in argv:
        print(json.dumps({**report, "by_requirement": coverage.by_requirement()}, indent=2))
    else:
        print(f"{report['scenarios']} scenarios in {len(report['areas'])} areas")
        for req in uncovered:
            print(f"  uncovered: {req.id} ({req.severity.value}) {req.statement}")
        print(f"{len(uncovered)} requirement(s) without a scenario")
    return 1 if uncovered else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

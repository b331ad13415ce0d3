"""Emulators take time from the rig clock; reading the wall clock for a decision is a defect.

Durations and socket time-outs (time.monotonic, time.perf_counter) are allowed: they decide
nothing about the business day.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_CALLS = {
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
    ("time", "ctime"),
    ("time", "strftime"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
}


def wall_clock_reads(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if (owner_name, node.func.attr) in FORBIDDEN_CALLS:
                found.append((node.lineno, f"{owner_name}.{node.func.attr}"))
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            for alias in node.names:
                if ("time", alias.name) in FORBIDDEN_CALLS:
                    found.append((node.lineno, f"from time import {alias.name}"))
    return sorted(found)


def test_the_check_catches_wall_clock_reads() -> None:
    bad = (
        "import time, datetime\nx = time.time()\n"
        "y = datetime.datetime.now()\nfrom time import time\n"
    )
    assert [what for _, what in wall_clock_reads(bad)] == [
        "time.time",
        "datetime.now",
        "from time import time",
    ]
    assert wall_clock_reads("import time\nt = time.monotonic()\n") == []


def test_emulators_never_read_the_wall_clock() -> None:
    offenders = []
    for path in sorted((ROOT / "emulators").rglob("*.py")):
        for line, what in wall_clock_reads(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert offenders == [], "use the RigClock instead:\n" + "\n".join(offenders)

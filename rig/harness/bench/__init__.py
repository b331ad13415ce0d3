"""Benchmarks: `make bench` runs every module here and prints one line per figure.

Each module defines `measure() -> list[Figure]`. Speed is measured here, never by timed
asserts in tests. Figures go to stdout as `name: value unit` and to build/bench.json.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str

    def line(self) -> str:
        return f"{self.name}: {self.value:.3f} {self.unit}"


def p99(samples: list[float]) -> float:
    """The 99th percentile by nearest rank (the slowest sample of fewer than a hundred)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def median_ms(action: Callable[[], object], runs: int) -> float:
    """Median wall time (ms) of `action` over `runs` runs, after one warm-up run."""
    action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)

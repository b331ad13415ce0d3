"""Benchmarks: `make bench` runs every module here and prints one line per figure.

Each module defines `measure() -> list[Figure]`. Speed is measured here, never by timed
asserts in tests. Figures go to stdout as `name: value unit` and to build/bench.json.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str

    def line(self) -> str:
        return f"{self.name}: {self.value:.3f} {self.unit}"

"""Fuzz campaign sizes: `make test` runs a short share, `make fuzz` the full count.

RIG_FUZZ_SCALE (default 1) multiplies every example count; `make fuzz` sets it to 20.
"""

from __future__ import annotations

import os


def scale() -> float:
    try:
        return max(0.01, float(os.environ.get("RIG_FUZZ_SCALE", "1")))
    except ValueError:
        return 1.0


def examples(base: int) -> int:
    """How many examples a fuzz test runs: `base` at scale 1."""
    return max(1, int(base * scale()))

"""Shared sheets and constants for the anti-forgery tests."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rig.core.antiforgery import apply_marks
from rig.core.antiforgery.specimen import certificate_page, certificate_page_a4

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def fuzz_examples(base: int) -> int:
    """Hypothesis example count for a fuzz test, scaled by RIG_FUZZ_SCALE (make fuzz: 20)."""
    return max(1, int(base * float(os.environ.get("RIG_FUZZ_SCALE", "1"))))


@dataclass(frozen=True)
class Sheet:
    content: NDArray[np.uint8]
    front: NDArray[np.uint8]
    back: NDArray[np.uint8]
    document_id: str


def make_sheet(seed: int, key: bytes = KEY) -> Sheet:
    content = certificate_page(seed)
    document_id = f"TEST-{seed:06d}"
    front, back = apply_marks(content, key, document_id)
    for array in (content, front, back):
        array.setflags(write=False)
    return Sheet(content, front, back, document_id)


def make_a4_sheet(seed: int, key: bytes = KEY) -> Sheet:
    """A full A4 page marked with `paper="auto"` (its ink outside the A5 box picks A4)."""
    content = certificate_page_a4(seed)
    document_id = f"TEST-A4-{seed:06d}"
    front, back = apply_marks(content, key, document_id)
    for array in (content, front, back):
        array.setflags(write=False)
    return Sheet(content, front, back, document_id)

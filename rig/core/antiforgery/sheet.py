"""One call that judges a printed sheet: are all marks there, does the back match the front?

This is what the scenarios ask of every sheet the printer captured, and what a verification
site asks of a customer's scans. It combines the detectors of the other modules; it adds no
thresholds of its own beyond naming the verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rig.core.antiforgery.comparison import CompareReport, compare
from rig.core.antiforgery.devices import copier
from rig.core.antiforgery.errors import AntiforgeryError, PageFormatError
from rig.core.antiforgery.kensei import INVISIBLE_BELOW, VISIBLE_ABOVE, kensei_contrast
from rig.core.antiforgery.latent import LatentReading, detect_latent
from rig.core.antiforgery.marks import read_back


@dataclass(frozen=True)
class SideReport:
    """Marks seen on one side.

    kensei_contrast: 「複写」 contrast as printed; kensei_on_copy: the same after the model
    copier (a working copy-evident pattern is invisible on the page and visible on the copy).
    """

    kensei_contrast: float
    kensei_on_copy: float
    latent: LatentReading

    @property
    def kensei_ok(self) -> bool:
        return self.kensei_contrast < INVISIBLE_BELOW and self.kensei_on_copy > VISIBLE_ABOVE

    @property
    def looks_copied(self) -> bool:
        """「複写」 already shows, or the latent image is gone: this side is a copy."""
        return self.kensei_contrast > VISIBLE_ABOVE or not self.latent.found

    @property
    def all_marks(self) -> bool:
        return self.kensei_ok and self.latent.found


def inspect_side(image: NDArray[np.uint8]) -> SideReport:
    """Look for the けん制文字 pattern and the latent image on one side."""
    return SideReport(
        kensei_contrast=kensei_contrast(image),
        kensei_on_copy=kensei_contrast(copier(image)),
        latent=detect_latent(image),
    )


@dataclass(frozen=True)
class SheetReport:
    """Everything known about one sheet (front and back captures or scans)."""

    front: SideReport
    back: SideReport
    back_decoded: bool
    back_error: str | None
    comparison: CompareReport | None
    nonce: bytes | None

    @property
    def genuine(self) -> bool:
        """All marks on both sides, back decodes and matches the front."""
        return (
            self.front.all_marks
            and self.back.all_marks
            and self.comparison is not None
            and self.comparison.matches
        )


def inspect_sheet(front: NDArray[np.uint8], back: NDArray[np.uint8], key: bytes) -> SheetReport:
    """Judge a sheet from images of its two sides (printer captures or 300 dpi scans).

    A back that cannot be read (registration, header or key errors) is reported in
    `back_error`, never raised; bad image formats still raise PageFormatError.
    """
    front_side, back_side = inspect_side(front), inspect_side(back)
    try:
        reading = read_back(back, key)
    except AntiforgeryError as exc:
        if isinstance(exc, PageFormatError):
            raise
        return SheetReport(front_side, back_side, False, f"{type(exc).__name__}: {exc}", None, None)
    try:
        comparison = compare(front, reading)
    except AntiforgeryError as exc:
        return SheetReport(
            front_side, back_side, True, f"front: {type(exc).__name__}: {exc}", None, reading.nonce
        )
    return SheetReport(front_side, back_side, True, None, comparison, reading.nonce)

"""Sheets of paper: pairing pages into sheets, measuring each side, and the output tray.

A sheet (用紙) has a front and, when printed two-sided, a back. For every side the printer
measures what a conformance check needs, on the raw 8-bit raster: the page size in mm (is it
A4?), whether it is blank, the bounding box of the ink and how far its centre sits from the
sheet's centre (A5 content must sit centred on A4: seed I.4.1 (8)).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from emulators.printer.render import Raster, RenderedPage

A4_MM = (210.0, 297.0)
A5_MM = (148.0, 210.0)
#: Page-size tolerance: Ghostscript rounds the raster to whole pixels (0.085 mm at 300 dpi).
SIZE_TOLERANCE_MM = 1.0
#: How far off-centre A5 content may sit and still count as centred.
CENTRE_TOLERANCE_MM = 1.0
#: A pixel lighter than this counts as paper, not ink.
INK_THRESHOLD = 250


@dataclass(frozen=True)
class Box:
    """A rectangle in mm from the sheet's top-left corner."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True)
class SideMeasure:
    width_mm: float
    height_mm: float
    blank: bool
    ink_box_mm: Box | None
    #: (dx, dy) of the ink box's centre from the sheet's centre, mm; + is right / down
    centre_offset_mm: tuple[float, float] | None

    @property
    def is_a4(self) -> bool:
        return _near(self.width_mm, A4_MM[0]) and _near(self.height_mm, A4_MM[1])

    @property
    def content_fits_a5(self) -> bool:
        box = self.ink_box_mm
        return box is not None and (
            box.width <= A5_MM[0] + SIZE_TOLERANCE_MM and box.height <= A5_MM[1] + SIZE_TOLERANCE_MM
        )

    @property
    def content_centred(self) -> bool:
        off = self.centre_offset_mm
        return (
            off is not None
            and abs(off[0]) <= CENTRE_TOLERANCE_MM
            and abs(off[1]) <= (CENTRE_TOLERANCE_MM)
        )

    def as_dict(self) -> dict[str, Any]:
        box = self.ink_box_mm
        return {
            "width_mm": round(self.width_mm, 2),
            "height_mm": round(self.height_mm, 2),
            "is_a4": self.is_a4,
            "blank": self.blank,
            "ink_box_mm": None
            if box is None
            else [round(v, 2) for v in (box.left, box.top, box.right, box.bottom)],
            "centre_offset_mm": None
            if self.centre_offset_mm is None
            else [round(v, 2) for v in self.centre_offset_mm],
            "content_fits_a5": self.content_fits_a5,
            "content_centred": self.content_centred,
        }


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= SIZE_TOLERANCE_MM


def measure(pixels: Raster, dpi: int) -> SideMeasure:
    """Size, blankness and ink placement of one side, from its raw raster."""
    height, width = pixels.shape
    mm = 25.4 / dpi
    # a row (column) holds ink iff its darkest pixel does: two min reductions instead of a
    # full-page boolean mask and two any() passes (this runs on every side printed)
    if pixels.size == 0:
        return SideMeasure(width * mm, height * mm, True, None, None)
    rows = np.flatnonzero(pixels.min(axis=1) < INK_THRESHOLD)
    if rows.size == 0:
        return SideMeasure(width * mm, height * mm, True, None, None)
    cols = np.flatnonzero(pixels.min(axis=0) < INK_THRESHOLD)
    box = Box(
        float(cols[0]) * mm,
        float(rows[0]) * mm,
        float(cols[-1] + 1) * mm,
        float(rows[-1] + 1) * mm,
    )
    dx = (box.left + box.right) / 2 - width * mm / 2
    dy = (box.top + box.bottom) / 2 - height * mm / 2
    return SideMeasure(width * mm, height * mm, False, box, (dx, dy))


@dataclass
class Side:
    """One printed side: the page it came from, its raster and where the raster is kept."""

    page_number: int
    dpi: int
    pixels: Raster
    measure: SideMeasure
    path: Path | None = None


@dataclass
class Sheet:
    """One sheet delivered to the output tray."""

    printer: str
    job_id: int
    number: int  # 1-based within the job
    serial: int  # 1-based across the printer's life
    sides: str  # the job's `sides`
    front: Side
    back: Side | None
    delivered_at: datetime
    checks: dict[str, bool] = field(default_factory=dict)
    #: the text layer of the sheet's pages (front, then back); receipts only, else None
    text: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "printer": self.printer,
            "job_id": self.job_id,
            "sheet": self.number,
            "serial": self.serial,
            "sides": self.sides,
            "front_page": self.front.page_number,
            "back_page": None if self.back is None else self.back.page_number,
            "front": self.front.measure.as_dict(),
            "back": None if self.back is None else self.back.measure.as_dict(),
            "checks": dict(self.checks),
            "delivered_at": self.delivered_at.isoformat(),
            **({} if self.text is None else {"text": self.text}),
        }


def pair_pages(
    pages: Sequence[RenderedPage], sides: str
) -> list[tuple[RenderedPage, RenderedPage | None]]:
    """Group pages into sheets: two-sided puts page 2n-1 on the front and 2n on the back."""
    if sides == "one-sided":
        return [(page, None) for page in pages]
    return [
        (pages[i], pages[i + 1] if i + 1 < len(pages) else None) for i in range(0, len(pages), 2)
    ]


class OutputTray:
    """The output tray and its sensor (排紙トレイ): sheets stay until somebody takes them."""

    def __init__(self) -> None:
        self._sheets: list[Sheet] = []
        self._lock = threading.Lock()

    def deliver(self, sheet: Sheet) -> None:
        with self._lock:
            self._sheets.append(sheet)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._sheets)

    def is_empty(self) -> bool:
        return self.count == 0

    def take(self) -> list[Sheet]:
        """Everything in the tray, in delivery order; the tray is empty afterwards."""
        with self._lock:
            taken, self._sheets = self._sheets, []
            return taken

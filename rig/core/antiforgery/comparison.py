"""Comparing a front with the front decoded from its back: SSIM and altered regions.

Both images are brought to the same footing before they are compared. The front (a scan or
the printer's capture) is registered by its marks and read at the module grid of the sheet's
content area (150 dpi for A5 content, 100 dpi for a full A4 page), as the back was. The
decoded content is turned into the front it predicts: the content with the front's fixed
marks (けん制文字 dots, and on A4 the emblem) laid over it (they are known, they belong to the
layout), read at the same grid. Both are blurred and their paper white is normalised to 255.

- SSIM (Wang et al. 2004, scikit-image, Gaussian window σ = 1.5) over the content area after
  a blur of SSIM_BLUR modules (about 0.25 mm, the scale a person compares at). An
  untouched original scores ≥ 0.9 (MATCH_SSIM); measured 0.95–1.0.
- Altered regions: where the two differ by more than ALTERED_LEVEL gray levels after a blur
  of DIFF_BLUR modules, cleaned by a morphological opening, pieces closer than GROUP_MODULES
  joined, each of at least MIN_REGION modules; each is reported as a box in page pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from skimage.metrics import structural_similarity

from rig.core.antiforgery import layout
from rig.core.antiforgery.errors import AntiforgeryError
from rig.core.antiforgery.kensei import check_page
from rig.core.antiforgery.layout import AREA_A4, AREA_A5, AREAS, Box, ContentArea
from rig.core.antiforgery.marks import BackReading, fixed_marks, read_modules
from rig.core.antiforgery.registration import register

MATCH_SSIM = 0.9
ALTERED_LEVEL = 50.0
MIN_REGION = 12
GROUP_MODULES = 8
#: Blur (in modules) before SSIM: the scale a person compares at, about 0.25 mm.
SSIM_BLUR = 1.5
#: Blur (in modules) before the difference map: finer, so a changed character stands out.
DIFF_BLUR = 1.0


@dataclass(frozen=True)
class CompareReport:
    """Result of `compare`: SSIM over the content box, the altered regions found (page px),
    and the fraction of the content box they cover."""

    ssim: float
    altered: tuple[Box, ...]
    altered_fraction: float

    @property
    def matches(self) -> bool:
        """The front is what the back carries: high SSIM and no altered region."""
        return self.ssim >= MATCH_SSIM and not self.altered


def _normalised(modules: NDArray[np.float32], blur: float) -> NDArray[np.float32]:
    seen = ndimage.gaussian_filter(modules, blur)
    white = max(float(np.percentile(seen, 95)), 64.0)
    return np.asarray(np.clip(seen * (255.0 / white), 0.0, 255.0), dtype=np.float32)


def _decoded_modules(decoded: NDArray[np.uint8], area: ContentArea) -> NDArray[np.float32]:
    """The front as it should look if it carries the decoded content: the decoded content
    under the front's fixed marks, read at the area's module grid."""
    c, m = area.front, area.module_px
    marks = fixed_marks("front")[c.y : c.y1, c.x : c.x1]
    box = np.minimum(decoded[c.y : c.y1, c.x : c.x1], marks).astype(np.float32)
    grid = box.reshape(area.modules_h, m, area.modules_w, m)
    return np.asarray(grid.mean(axis=(1, 3)), dtype=np.float32)


def decoded_area(decoded: NDArray[np.uint8]) -> ContentArea:
    """The content area a decoded page carries, told by its ink: the A5 area decodes to a
    page that is pure white outside the A5 box; anything else is the A4 area."""
    c = layout.CONTENT
    outside = np.count_nonzero(decoded != 255) - np.count_nonzero(
        decoded[c.y : c.y1, c.x : c.x1] != 255
    )
    return AREA_A4 if outside else AREA_A5


def compare(
    front_scan: NDArray[np.uint8],
    decoded: NDArray[np.uint8] | BackReading,
    area: str | None = None,
) -> CompareReport:
    """Compare a front (scan or capture, registered by its marks) with the decoded back.

    `decoded` is a `BackReading` (its area is known) or `decode_back`'s page; for a page the
    area is `area` ("A5" or "A4") when given, else told by `decoded_area`.
    """
    check_page(front_scan, "front_scan")
    if isinstance(decoded, BackReading):
        image, known = decoded.image, decoded.area
    else:
        image, known = decoded, None
    check_page(image, "decoded")
    if area is not None:
        if area not in AREAS:
            raise AntiforgeryError(f"area must be 'A5' or 'A4', got {area!r}")
        chosen = AREAS[area]
    else:
        chosen = known if known is not None else decoded_area(image)
    front_modules = read_modules(front_scan, register(front_scan), chosen.front, chosen.module_px)
    back_modules = _decoded_modules(image, chosen)
    ssim = float(
        structural_similarity(  # type: ignore[no-untyped-call]
            _normalised(front_modules, SSIM_BLUR),
            _normalised(back_modules, SSIM_BLUR),
            data_range=255.0,
            gaussian_weights=True,
        )
    )
    diff = _normalised(front_modules, DIFF_BLUR) - _normalised(back_modules, DIFF_BLUR)
    differs = np.abs(diff) > ALTERED_LEVEL
    differs = ndimage.binary_opening(differs, structure=np.ones((2, 2), dtype=bool))
    # Pieces closer than GROUP_MODULES belong to one alteration (one edited word or line).
    labels, _ = ndimage.label(ndimage.binary_dilation(differs, iterations=GROUP_MODULES))
    labels = labels * differs
    boxes: list[Box] = []
    covered = 0
    c, m = chosen.front, chosen.module_px
    for label, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        size = int(np.count_nonzero(labels[sl] == label))
        if size < MIN_REGION:
            continue
        covered += size
        ys, xs = sl
        boxes.append(
            Box(
                x=c.x + m * xs.start,
                y=c.y + m * ys.start,
                w=m * (xs.stop - xs.start),
                h=m * (ys.stop - ys.start),
            )
        )
    return CompareReport(ssim=ssim, altered=tuple(boxes), altered_fraction=covered / differs.size)

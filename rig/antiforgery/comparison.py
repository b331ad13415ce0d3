"""Comparing a front with the front decoded from its back: SSIM and altered regions.

Both images are brought to the same footing before they are compared. The front (a scan or
the printer's capture) is registered by its marks and read at the module grid (150 dpi), as
the back was. The decoded content is turned into the front it predicts: the content with
the front's けん制文字 dots laid over it (they are known, they belong to the layout), read at
the same grid. Both are blurred and their paper white is normalised to 255.

- SSIM (Wang et al. 2004, scikit-image, Gaussian window σ = 1.5) over the content box after
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

from rig.antiforgery import layout
from rig.antiforgery.kensei import check_page, pattern_layer
from rig.antiforgery.layout import Box
from rig.antiforgery.marks import read_modules
from rig.antiforgery.registration import register

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


def _decoded_modules(decoded: NDArray[np.uint8]) -> NDArray[np.float32]:
    """The front as it should look if it carries the decoded content: the decoded content
    under the front's けん制文字 dots, read at the module grid."""
    c, m = layout.CONTENT, layout.MODULE_PX
    pattern = pattern_layer("front")[c.y : c.y1, c.x : c.x1]
    box = np.minimum(decoded[c.y : c.y1, c.x : c.x1], pattern).astype(np.float32)
    grid = box.reshape(layout.MODULES_H, m, layout.MODULES_W, m)
    return np.asarray(grid.mean(axis=(1, 3)), dtype=np.float32)


def compare(front_scan: NDArray[np.uint8], decoded: NDArray[np.uint8]) -> CompareReport:
    """Compare a front (scan or capture, registered by its marks) with `decode_back`'s output."""
    check_page(front_scan, "front_scan")
    check_page(decoded, "decoded")
    front_modules = read_modules(front_scan, register(front_scan))
    back_modules = _decoded_modules(decoded)
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
    c, m = layout.CONTENT, layout.MODULE_PX
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

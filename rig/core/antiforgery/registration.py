"""Registration marks: drawing them, finding them in a scan, and mapping page to scan.

Each side carries four solid 40×40-pixel squares in the left and right sheet margins, where
no certificate content goes (neither A5 content centred on A4 nor a full A4 page). In a
scan each is found by thresholding a window around its nominal place and keeping the one
dark blob of the right size and squareness; its ink-weighted centroid gives sub-pixel
position. An affine map fitted to the four centres (least squares) takes page coordinates
to scan coordinates; the fit must be a near-rigid motion (rotation within ±5°, scale
within ±3 %, residual under 2.5 px) or the scan is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from rig.core.antiforgery import layout
from rig.core.antiforgery.errors import RegistrationError

MAX_ROTATION_DEG = 5.0
MAX_SCALE_ERROR = 0.03
MAX_RESIDUAL_PX = 2.5


@lru_cache(maxsize=1)
def fiducial_layer() -> NDArray[np.uint8]:
    """The four marks as a page-size layer (255 paper, 0 ink)."""
    page = np.full(layout.PAGE_SHAPE, 255, dtype=np.uint8)
    half = layout.FIDUCIAL_SIZE // 2
    for cx, cy in layout.FIDUCIALS:
        # Centre (c - 0.5) in pixel-index terms: the square spans [c - half, c + half).
        x, y = round(cx + 0.5), round(cy + 0.5)
        page[y - half : y + half, x - half : x + half] = 0
    page.setflags(write=False)
    return page


@dataclass(frozen=True)
class Registration:
    """Affine map from page pixel-index coordinates (x, y) to scan coordinates."""

    matrix: NDArray[np.float64]  # 2×3: [x', y'] = matrix @ [x, y, 1]
    found: tuple[tuple[float, float], ...]
    residual_px: float

    @property
    def rotation_deg(self) -> float:
        """Rotation of the sheet in the scan, counter-clockwise as seen (like `scan`)."""
        return float(-np.degrees(np.arctan2(self.matrix[1, 0], self.matrix[0, 0])))

    def to_scan(
        self, xs: NDArray[np.floating], ys: NDArray[np.floating]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        m = self.matrix
        return m[0, 0] * xs + m[0, 1] * ys + m[0, 2], m[1, 0] * xs + m[1, 1] * ys + m[1, 2]


def _find_one(scan: NDArray[np.uint8], index: int) -> tuple[float, float]:
    cx, cy = layout.FIDUCIALS[index]
    reach = layout.FIDUCIAL_SEARCH + layout.FIDUCIAL_SIZE
    h, w = scan.shape
    x0, x1 = max(0, round(cx) - reach), min(w, round(cx) + reach)
    y0, y1 = max(0, round(cy) - reach), min(h, round(cy) + reach)
    if x1 - x0 < layout.FIDUCIAL_SIZE or y1 - y0 < layout.FIDUCIAL_SIZE:
        raise RegistrationError(f"registration mark {index} lies outside the scan")
    window = scan[y0:y1, x0:x1].astype(np.float32)
    dark = ndimage.gaussian_filter(window, 1.0) < 128.0
    labels, count = ndimage.label(dark)
    if count == 0:
        raise RegistrationError(f"registration mark {index} not found (no dark blob)")
    area_nominal = layout.FIDUCIAL_SIZE**2
    best: tuple[float, float] | None = None
    best_dist = float("inf")
    slices = ndimage.find_objects(labels)
    areas = ndimage.sum_labels(dark, labels, index=np.arange(1, count + 1))
    for label, (sl, area) in enumerate(zip(slices, areas, strict=True), start=1):
        if sl is None or not 0.7 * area_nominal <= area <= 1.4 * area_nominal:
            continue
        bh, bw = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        size = layout.FIDUCIAL_SIZE
        if not (0.8 * size <= min(bh, bw) and max(bh, bw) <= 1.25 * size + 4):
            continue
        if area / (bh * bw) < 0.6:
            continue
        blob = ndimage.binary_dilation(labels[sl] == label, iterations=2)
        weights = np.clip(200.0 - window[sl], 0.0, None) * blob
        total = float(weights.sum())
        if total <= 0:
            continue
        gy, gx = np.indices(weights.shape)
        fx = x0 + sl[1].start + float((weights * gx).sum()) / total
        fy = y0 + sl[0].start + float((weights * gy).sum()) / total
        dist = (fx - cx) ** 2 + (fy - cy) ** 2
        if dist < best_dist:
            best, best_dist = (fx, fy), dist
    if best is None:
        raise RegistrationError(f"registration mark {index} not found (no square blob)")
    return best


def register(scan: NDArray[np.uint8]) -> Registration:
    """Find the four marks in `scan` and fit the page→scan map (RegistrationError if not)."""
    found = tuple(_find_one(scan, i) for i in range(len(layout.FIDUCIALS)))
    page = np.array([[x, y, 1.0] for x, y in layout.FIDUCIALS])
    seen = np.array(found)
    solution, *_ = np.linalg.lstsq(page, seen, rcond=None)
    matrix = solution.T
    residual = float(np.max(np.hypot(*(page @ solution - seen).T)))
    reg = Registration(matrix=matrix, found=found, residual_px=residual)
    a = matrix[:, :2]
    scales = np.linalg.svd(a, compute_uv=False)
    if residual > MAX_RESIDUAL_PX:
        raise RegistrationError(f"registration marks do not fit one sheet ({residual:.1f} px off)")
    if np.any(np.abs(scales - 1.0) > MAX_SCALE_ERROR) or np.linalg.det(a) <= 0:
        raise RegistrationError(f"scan scale or mirror out of range (scales {scales.round(3)})")
    if abs(reg.rotation_deg) > MAX_ROTATION_DEG:
        raise RegistrationError(f"scan rotated {reg.rotation_deg:.1f}°, more than ±5°")
    return reg


def sample(
    scan: NDArray[np.uint8],
    reg: Registration,
    xs: NDArray[np.floating],
    ys: NDArray[np.floating],
    footprint_sigma: float,
    box: int = 1,
) -> NDArray[np.float32]:
    """Gray values of the scan at page coordinates (xs, ys), averaged over a small footprint:
    a `box`×`box`-pixel mean (odd `box`: exact at pixel centres), then a Gaussian of σ
    `footprint_sigma` px."""
    sx, sy = reg.to_scan(xs, ys)
    pad = int(4 * footprint_sigma) + box + 3
    h, w = scan.shape
    x0 = max(0, int(np.floor(sx.min())) - pad)
    x1 = min(w, int(np.ceil(sx.max())) + pad + 1)
    y0 = max(0, int(np.floor(sy.min())) - pad)
    y1 = min(h, int(np.ceil(sy.max())) + pad + 1)
    if x1 <= x0 or y1 <= y0:
        raise RegistrationError("the sampled area lies outside the scan")
    crop = scan[y0:y1, x0:x1].astype(np.float32)
    if box > 1:
        crop = ndimage.uniform_filter(crop, box, mode="nearest")
    if footprint_sigma > 0:
        crop = ndimage.gaussian_filter(crop, footprint_sigma)
    values = ndimage.map_coordinates(
        crop, [sy - y0, sx - x0], order=1, mode="constant", cval=255.0, prefilter=False
    )
    return np.asarray(values, dtype=np.float32)

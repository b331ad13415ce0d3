"""Models of the devices a forger or a verifier uses: a photocopier and a flatbed scanner.

Copier (documented transform). A copier reads the sheet at its own resolution, through optics
that blur, and prints each of its pixels as toner or paper:

1. resample the 300 dpi page to `dpi` by area averaging (each copier pixel sees the mean
   reflectance of the paper under it);
2. blur with a Gaussian of σ = `blur_mm` (the scanner's optics and the toner's spread);
3. threshold: darker than `threshold` (0–255) prints black, the rest stays paper;
4. resample back to 300 dpi (nearest) so the copy can be handled like any printed page.

Defaults (200 dpi, σ 0.10 mm, threshold 128) stand for an ordinary office copier in text mode.

Scanner. `scan` rotates the page about its centre, shifts it, adds blur and Gaussian sensor
noise, at 300 dpi, and fills uncovered areas with paper white: what a verification site gets
from a customer's flatbed scan of the sheet.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

from rig.core.antiforgery import layout
from rig.core.antiforgery.errors import AntiforgeryError


def _check_image(image: NDArray[np.uint8]) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 2 or image.dtype != np.uint8:
        raise AntiforgeryError("expected a 2-D uint8 grayscale image")
    if min(image.shape) < 8:
        raise AntiforgeryError(f"image too small: {image.shape}")


def copier(
    image: NDArray[np.uint8],
    dpi: float = 200.0,
    blur: float = 0.10,
    threshold: float = 128.0,
) -> NDArray[np.uint8]:
    """A photocopy of `image` (300 dpi) by a copier reading at `dpi` with σ=`blur` mm."""
    _check_image(image)
    if not 20.0 <= dpi <= 1200.0:
        raise AntiforgeryError(f"copier dpi out of range 20–1200: {dpi}")
    if not 0.0 <= blur <= 2.0:
        raise AntiforgeryError(f"copier blur out of range 0–2 mm: {blur}")
    if not 0.0 < threshold < 255.0:
        raise AntiforgeryError(f"copier threshold out of range (0, 255): {threshold}")
    h, w = image.shape
    cw = max(1, round(w * dpi / layout.DPI))
    ch = max(1, round(h * dpi / layout.DPI))
    seen = np.asarray(Image.fromarray(image).resize((cw, ch), Image.Resampling.BOX))
    sigma = blur / 25.4 * dpi
    blurred = ndimage.gaussian_filter(seen.astype(np.float32), sigma) if sigma > 0 else seen
    printed = np.where(blurred < threshold, 0, 255).astype(np.uint8)
    return np.asarray(Image.fromarray(printed).resize((w, h), Image.Resampling.NEAREST))


def scan(
    image: NDArray[np.uint8],
    rotation_deg: float = 0.0,
    offset_px: tuple[float, float] = (0.0, 0.0),
    noise: float = 0.0,
    blur_px: float = 0.0,
    seed: int = 0,
) -> NDArray[np.uint8]:
    """A 300 dpi flatbed scan of `image`: rotated about the centre (degrees, counter-clockwise
    as seen), shifted by (dx, dy) px (right, down), blurred and with Gaussian noise (σ in gray
    levels; `seed` makes it repeatable)."""
    _check_image(image)
    if not -10.0 <= rotation_deg <= 10.0:
        raise AntiforgeryError(f"scan rotation out of range ±10°: {rotation_deg}")
    if noise < 0 or blur_px < 0:
        raise AntiforgeryError("scan noise and blur must be >= 0")
    h, w = image.shape
    theta = np.deg2rad(rotation_deg)
    c, s = np.cos(theta), np.sin(theta)
    # Output (row, col) -> input (row, col): inverse rotation about the centre, minus shift.
    rot = np.array([[c, s], [-s, c]])
    centre = np.array([(h - 1) / 2.0, (w - 1) / 2.0])
    shift = np.array([offset_px[1], offset_px[0]])
    offset = centre - rot @ (centre + shift)
    out = ndimage.affine_transform(
        image.astype(np.float32), rot, offset=offset, order=1, mode="constant", cval=255.0
    )
    if blur_px > 0:
        out = ndimage.gaussian_filter(out, blur_px)
    if noise > 0:
        out += np.random.default_rng(seed).normal(0.0, noise, out.shape).astype(np.float32)
    return np.asarray(np.clip(np.rint(out), 0, 255), dtype=np.uint8)

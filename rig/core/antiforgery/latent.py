"""偽変造防止検出画像: a visible emblem hiding a latent image, and the special viewer.

Design. The emblem is a solid ring (visible to anyone, and kept by any copier) around a disc
filled with a fine line screen: 1-pixel lines every 3 pixels (33 % ink, about 141 lines per
inch measured across the lines). Inside the latent figure, the character 「証」, the lines run
at +45° (along x + y = const); in the ground they run at −45°. Both have the same ink
density and pitch, so the eye sees a uniform gray disc.

Special viewer. `detect_latent` demodulates the emblem area at the two screen frequencies
(⅓, ⅓) and (⅓, −⅓) cycles per pixel, turns the two local energies into an orientation map
(+1 where the +45° screen dominates, −1 for −45°, 0 where there is no screen) and correlates
it with the figure/ground template, searching over small shifts. An original scores about
0.73 (the figure's edges blur in the map); a copy has lost the screen (the copier's blur
turns it into an even 33 % gray that thresholds to paper), so its orientation map is empty
and it scores near 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from rig.core.antiforgery import layout
from rig.core.antiforgery.glyphs import text_mask
from rig.core.antiforgery.kensei import check_page

FIGURE = "証"
FIGURE_SIZE_PX = 200
SCREEN_PITCH = 3
#: Score at or above which the latent image is taken as present.
FOUND_AT = 0.5
#: Shifts (px) searched around the nominal emblem position.
SEARCH_PX = 48

_ENERGY_SIGMA = 4.0
#: Demodulated amplitude (gray levels) below which a place is "no screen" rather than noise.
_ENERGY_FLOOR = 6.0


@dataclass(frozen=True)
class LatentReading:
    """What the special viewer saw: correlation score (−1…1), whether it counts as found,
    and the shift (dx, dy) px at which the emblem matched best."""

    score: float
    found: bool
    shift: tuple[int, int]


@lru_cache(maxsize=1)
def _figure_and_disc() -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Emblem-box masks: latent figure pixels, and the screened disc inside the ring."""
    size = 2 * layout.EMBLEM_R
    yy, xx = np.ogrid[:size, :size]
    r2 = (yy - layout.EMBLEM_R + 0.5) ** 2 + (xx - layout.EMBLEM_R + 0.5) ** 2
    disc = r2 < (layout.EMBLEM_R - layout.EMBLEM_RING - 6) ** 2
    glyph = text_mask(FIGURE, FIGURE_SIZE_PX)
    figure = np.zeros((size, size), dtype=bool)
    gy, gx = (size - glyph.shape[0]) // 2, (size - glyph.shape[1]) // 2
    figure[gy : gy + glyph.shape[0], gx : gx + glyph.shape[1]] = glyph
    # Thicken the strokes so the figure has area at the screen's scale.
    figure = ndimage.binary_dilation(figure, iterations=3) & disc
    return figure, disc


@lru_cache(maxsize=1)
def emblem_layer() -> NDArray[np.uint8]:
    """The emblem as a page-size layer (255 paper, 0 ink), the same on both sides."""
    figure, disc = _figure_and_disc()
    size = 2 * layout.EMBLEM_R
    yy, xx = np.ogrid[:size, :size]
    # Page coordinates decide the screen phase so both sides and every sheet agree.
    py, px = yy + layout.EMBLEM.y, xx + layout.EMBLEM.x
    plus = (px + py) % SCREEN_PITCH == 0
    minus = (px - py) % SCREEN_PITCH == 0
    r2 = (yy - layout.EMBLEM_R + 0.5) ** 2 + (xx - layout.EMBLEM_R + 0.5) ** 2
    ring = (r2 < layout.EMBLEM_R**2) & (r2 >= (layout.EMBLEM_R - layout.EMBLEM_RING) ** 2)
    ink = ring | (disc & np.where(figure, plus, minus))
    page = np.full(layout.PAGE_SHAPE, 255, dtype=np.uint8)
    box = layout.EMBLEM
    page[box.y : box.y1, box.x : box.x1] = np.where(ink, 0, 255)
    page.setflags(write=False)
    return page


def orientation_map(region: NDArray[np.floating] | NDArray[np.uint8]) -> NDArray[np.float32]:
    """Per pixel: +1 where the +45° screen dominates, −1 for −45°, toward 0 where neither."""
    img = region.astype(np.float32)
    detail = img - ndimage.gaussian_filter(img, 2.0 * _ENERGY_SIGMA)
    yy, xx = np.indices(img.shape, dtype=np.float32)
    energies = []
    for sign in (1.0, -1.0):
        phase = (2.0 * np.pi / SCREEN_PITCH) * (xx + sign * yy)
        re = ndimage.gaussian_filter(detail * np.cos(phase), _ENERGY_SIGMA)
        im = ndimage.gaussian_filter(detail * np.sin(phase), _ENERGY_SIGMA)
        energies.append(np.hypot(re, im))
    plus, minus = energies
    return np.asarray((plus - minus) / (plus + minus + _ENERGY_FLOOR), dtype=np.float32)


def detect_latent(image: NDArray[np.uint8]) -> LatentReading:
    """The special viewer: is the emblem's latent image on this side of the sheet?"""
    check_page(image)
    figure, disc = _figure_and_disc()
    box = layout.EMBLEM.grown(SEARCH_PX)
    region = image[box.y : box.y1, box.x : box.x1]
    orient = orientation_map(region)
    template = np.where(figure, 1.0, -1.0).astype(np.float32) * disc
    # scipy.signal costs half a second to import; only the viewer needs it, marking does not
    from scipy.signal import fftconvolve

    # Correlation at every shift within ±SEARCH_PX (template flipped for convolution).
    corr = fftconvolve(orient, template[::-1, ::-1], mode="valid")
    iy, ix = np.unravel_index(int(np.argmax(corr)), corr.shape)
    score = float(corr[iy, ix]) / float(np.abs(template).sum())
    return LatentReading(
        score=score, found=score >= FOUND_AT, shift=(int(ix) - SEARCH_PX, int(iy) - SEARCH_PX)
    )

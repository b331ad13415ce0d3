"""けん制文字 (copy-evident background): the word 「複写」 hidden in a dot pattern.

Design. The page is divided into 9×9-pixel cells (0.76 mm at 300 dpi). A background cell
holds nine 1-pixel dots (85 µm) on a 3-pixel pitch; a cell inside the word holds one
3×3-pixel dot. Both cover 9 of 81 pixels (11 % ink), so at print resolution the word has the
same mean gray as its surroundings and is not seen. A copier scans at a lower resolution
through blurry optics and then decides ink/no ink per pixel: the isolated 1-pixel dots melt
into an 11 % gray that falls on the "paper" side of its threshold and vanish, while the 3×3
dots stay dark enough to print. On the copy the word stands out as a field of dots on white paper.

Measurement. `kensei_contrast` models the eye as a Gaussian blur (σ = 5 px ≈ 0.42 mm, which
averages both dot screens into their mean gray) and returns the difference of the median
gray of the background next to the words and the median gray inside the words, as a
fraction of full scale (positive: word darker). It reads only the pattern in the sheet
margins outside the A4 content area, so the certificate text (A5 or A4) never disturbs it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from rig.core.antiforgery import layout
from rig.core.antiforgery.errors import PageFormatError
from rig.core.antiforgery.glyphs import text_mask

Side = Literal["front", "back"]

WORD = "複写"
WORD_SIZE_PX = 240
CELL = 9
TILE_PITCH_X = 660
TILE_PITCH_Y = 380

#: Visibility line (fraction of full-scale reflectance). A uniform patch that differs from its
#: surround by 1–2 % is at the just-noticeable difference for a reader in good light (Weber
#: fraction for large fields); we call anything under 2 % invisible.
INVISIBLE_BELOW = 0.02
#: "Clearly visible": three times that line, like light-gray text on white paper.
VISIBLE_ABOVE = 0.06

_EYE_SIGMA_PX = 5.0


def _word_pixels() -> NDArray[np.bool_]:
    """Page-size mask of the repeated word shapes (before snapping to cells)."""
    mask = np.zeros(layout.PAGE_SHAPE, dtype=bool)
    glyph = text_mask(WORD, WORD_SIZE_PX)
    gh, gw = glyph.shape
    for row, y in enumerate(range(40, layout.PAGE_H, TILE_PITCH_Y)):
        shift = (TILE_PITCH_X // 2) * (row % 2)
        for x in range(40 - TILE_PITCH_X + shift, layout.PAGE_W, TILE_PITCH_X):
            y0, x0 = max(y, 0), max(x, 0)
            y1, x1 = min(y + gh, layout.PAGE_H), min(x + gw, layout.PAGE_W)
            if y1 > y0 and x1 > x0:
                mask[y0:y1, x0:x1] |= glyph[y0 - y : y1 - y, x0 - x : x1 - x]
    return mask


def keep_out(side: Side) -> NDArray[np.bool_]:
    """Pixels the pattern must leave blank on `side` (marks and their quiet zones)."""
    out = np.zeros(layout.PAGE_SHAPE, dtype=bool)
    half = layout.FIDUCIAL_SIZE // 2 + layout.QUIET
    for cx, cy in layout.FIDUCIALS:
        x, y = round(cx), round(cy)
        out[y - half : y + half + 1, x - half : x + half + 1] = True
    yy, xx = np.ogrid[: layout.PAGE_H, : layout.PAGE_W]
    r = layout.EMBLEM_R + layout.QUIET
    out |= (yy - layout.EMBLEM_CY) ** 2 + (xx - layout.EMBLEM_CX) ** 2 <= r * r
    if side == "back":
        for box in (layout.CONTENT.grown(layout.QUIET), layout.HEADER.grown(layout.QUIET)):
            out[box.y : box.y1, box.x : box.x1] = True
    return out


@lru_cache(maxsize=1)
def word_cells() -> NDArray[np.bool_]:
    """Page-size mask of the cells drawn as word cells (a cell is in the word if its centre is)."""
    pixels = _word_pixels()
    rows = np.arange(layout.PAGE_H) // CELL * CELL + CELL // 2
    cols = np.arange(layout.PAGE_W) // CELL * CELL + CELL // 2
    rows = np.minimum(rows, layout.PAGE_H - 1)
    cols = np.minimum(cols, layout.PAGE_W - 1)
    cells = pixels[np.ix_(rows, cols)]
    cells.setflags(write=False)
    return cells


@lru_cache(maxsize=2)
def pattern_layer(side: Side) -> NDArray[np.uint8]:
    """The pattern alone (255 paper, 0 ink) for one side of the sheet."""
    yy, xx = np.ogrid[: layout.PAGE_H, : layout.PAGE_W]
    cy, cx = yy % CELL, xx % CELL
    small = (cy % 3 == 1) & (cx % 3 == 1)
    large = (cy // 3 == 1) & (cx // 3 == 1)
    ink = np.where(word_cells(), large, small) & ~keep_out(side)
    layer = np.where(ink, 0, 255).astype(np.uint8)
    layer.setflags(write=False)
    return layer


#: The eye model works on 3×3-pixel averages (one third of a cell): same result, 9× less work.
_BIN = 3


def _binned(image: NDArray[np.generic]) -> NDArray[np.float32]:
    h, w = (layout.PAGE_H // _BIN) * _BIN, (layout.PAGE_W // _BIN) * _BIN
    grid = image[:h, :w].astype(np.float32).reshape(h // _BIN, _BIN, w // _BIN, _BIN)
    return np.asarray(grid.mean(axis=(1, 3)), dtype=np.float32)


@lru_cache(maxsize=1)
def _measure_masks() -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(word core, nearby background) bins used by `kensei_contrast`, margins only."""
    words = _binned(word_cells()) > 0.5
    margin = round(2 * _EYE_SIGMA_PX / _BIN) + 1
    core = ndimage.binary_erosion(words, iterations=margin)
    near = ndimage.binary_dilation(words, iterations=margin + 40 // _BIN)
    ground = near & ~ndimage.binary_dilation(words, iterations=margin)
    # Only where the pattern is printed on both sides and no certificate content ever goes
    # (the sheet margins outside the A4 content area), so a full A4 page never disturbs it.
    busy = keep_out("back")
    c = layout.ALL_CONTENT
    busy[c.y : c.y1, c.x : c.x1] = True
    usable = ~ndimage.binary_dilation(_binned(busy) > 0, iterations=margin)
    return core & usable, ground & usable


def check_page(image: NDArray[np.uint8] | NDArray[np.generic], what: str = "page") -> None:
    """Raise PageFormatError unless `image` is a 2480×3508 uint8 grayscale array."""
    if not isinstance(image, np.ndarray):
        raise PageFormatError(f"{what}: expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise PageFormatError(f"{what}: expected dtype uint8, got {image.dtype}")
    if image.shape != layout.PAGE_SHAPE:
        raise PageFormatError(
            f"{what}: expected shape {layout.PAGE_SHAPE} (A4 at 300 dpi, gray), got {image.shape}"
        )


def eye_view(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    """What a reader sees at arm's length: the page blurred beyond the dot screens
    (returned at one third of the resolution: 3×3-pixel bins)."""
    return np.asarray(ndimage.gaussian_filter(_binned(image), _EYE_SIGMA_PX / _BIN))


def kensei_contrast(image: NDArray[np.uint8]) -> float:
    """Contrast of 「複写」 against its background: fraction of full scale, word darker > 0."""
    check_page(image)
    core, ground = _measure_masks()
    seen = eye_view(image)
    return float(np.median(seen[ground]) - np.median(seen[core])) / 255.0

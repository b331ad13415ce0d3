"""Putting the marks on a sheet, and reading the back's scrambled image from a scan.

`apply_marks` turns one page from the municipality (300 dpi gray) into the two sides of the
printed sheet: the front with the けん制文字 pattern, registration marks and emblem under the
certificate, and the back with the scrambled image of the front's content area (A5 content
at 150 dpi, or a whole A4 page at 100 dpi), its header strip, the same registration marks,
emblem and pattern around them. Marks are combined with
the page by "darker wins" (ink on ink), as a printer lays them down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from rig.core.antiforgery import layout, scramble
from rig.core.antiforgery.errors import AntiforgeryError
from rig.core.antiforgery.kensei import Side, check_page, pattern_layer
from rig.core.antiforgery.latent import emblem_layer
from rig.core.antiforgery.layout import AREA_A4, AREA_A5, AREAS, Box, ContentArea
from rig.core.antiforgery.registration import Registration, fiducial_layer, register, sample

MAX_DOCUMENT_ID = 256
Paper = Literal["auto", "A5", "A4"]
#: Ink darker than this outside the A5 box makes `paper="auto"` choose the A4 area.
_INK_LEVEL = 250
#: Extra smoothing (σ, scan pixels) before sampling module centres. None: bilinear sampling
#: at a module's centre already averages its 2×2 pixels, and any more mixes in neighbours.
_MODULE_SIGMA = 0.0


def _check_document_id(document_id: str) -> None:
    if not isinstance(document_id, str) or not 1 <= len(document_id) <= MAX_DOCUMENT_ID:
        raise AntiforgeryError(f"document_id must be a str of 1–{MAX_DOCUMENT_ID} characters")


def _header_layer(bits: NDArray[np.bool_]) -> NDArray[np.uint8]:
    h = layout.HEADER
    row = np.where(np.repeat(bits, layout.HEADER_CELL_W), 0, 255).astype(np.uint8)
    return np.broadcast_to(row, (h.h, h.w))


@lru_cache(maxsize=2)
def fixed_marks(side: Side) -> NDArray[np.uint8]:
    """The marks that are the same on every sheet (けん制文字 pattern, registration marks,
    emblem) for one side, as a page (255 paper, 0 ink). A checker that wants the ink of the
    certificate alone can ignore capture pixels where this layer has ink.

    Made once per side and shared, so read-only: copy it to draw on it.
    """
    layer = np.minimum(np.minimum(emblem_layer(), fiducial_layer()), pattern_layer(side))
    layer.setflags(write=False)
    return layer


def area_for(front_page: NDArray[np.uint8], paper: Paper = "auto") -> ContentArea:
    """The content area the back carries: A5 or A4 as told, or for "auto" the A4 area when
    the page has ink (darker than 250) outside the A5 box, else the A5 area."""
    if paper in AREAS:
        return AREAS[paper]
    if paper != "auto":
        raise AntiforgeryError(f"paper must be 'auto', 'A5' or 'A4', got {paper!r}")
    c = layout.CONTENT
    # The bands above and below the box, and the strips left and right of it; `min` reads
    # them without the page-size mask that counting dark pixels made.
    outside = (
        front_page[: c.y],
        front_page[c.y1 :],
        front_page[c.y : c.y1, : c.x],
        front_page[c.y : c.y1, c.x1 :],
    )
    inked = any(part.size and int(part.min()) < _INK_LEVEL for part in outside)
    return AREA_A4 if inked else AREA_A5


def _to_cells(values: NDArray[np.float32]) -> NDArray[np.uint8]:
    """Module values as printable gray levels (rounded half to even, clipped to 0–255)."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _paint(
    page: NDArray[np.uint8], area: ContentArea, cells: NDArray[np.uint8], side: Side
) -> None:
    """Draw `cells` on `page` where the area puts them on `side`, each module a square of
    pixels (the area's module size on the front, 2×2 on the back)."""
    m = area.module_px if side == "front" else layout.BACK_MODULE_PX
    box = area.front if side == "front" else area.back
    region = page[box.y : box.y1, box.x : box.x1]
    # One widened row per module row, written to each of its pixel rows: no page-size
    # temporary (np.repeat on both axes made one).
    row = np.repeat(cells, m, axis=1)
    for dy in range(m):
        region[dy::m] = row


def apply_marks(
    front_page: NDArray[np.uint8], key: bytes, document_id: str, paper: Paper = "auto"
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """The printed sheet for one municipal page: (front, back), each 2480×3508 uint8 gray.

    `paper` picks the content area the back carries (see `area_for`): "A5" for A5 content
    centred on A4 (150 dpi), "A4" for a full A4 page (100 dpi), "auto" to tell by the ink.
    """
    check_page(front_page, "front_page")
    scramble.check_key(key)
    _check_document_id(document_id)
    area = area_for(front_page, paper)
    front = np.minimum(front_page, fixed_marks("front"))

    nonce = scramble.nonce_for(key, document_id)
    printed = scramble.scramble(scramble.sample_front(front_page, area), key, nonce, area)
    back = fixed_marks("back").copy()
    _paint(back, area, _to_cells(printed), "back")
    h = layout.HEADER
    back[h.y : h.y1, h.x : h.x1] = _header_layer(scramble.header_bits(key, nonce, area))
    return front, back


@dataclass(frozen=True)
class BackReading:
    """What a scan of the back yields: the front's content area as decoded (page-size image,
    white outside the area), the nonce printed on the sheet, how the scan was registered,
    and which content area the sheet carries (A5 at 150 dpi, A4 at 100 dpi)."""

    image: NDArray[np.uint8]
    nonce: bytes
    registration: Registration
    area: ContentArea = field(default=AREA_A5)

    def matches_document(self, key: bytes, document_id: str) -> bool:
        """Was this sheet printed for `document_id` (under `key`)?"""
        return self.nonce == scramble.nonce_for(key, document_id)


def module_grid(
    box: Box = layout.CONTENT, module_px: int = layout.MODULE_PX
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Page coordinates (x, y) of every module centre of `box` (modules of `module_px`)."""
    xs = box.x + module_px * np.arange(box.w // module_px) + (module_px - 1) / 2.0
    ys = box.y + module_px * np.arange(box.h // module_px) + (module_px - 1) / 2.0
    gx, gy = np.meshgrid(xs, ys)
    return gx, gy


def read_modules(
    scan: NDArray[np.uint8],
    reg: Registration,
    box: Box = layout.CONTENT,
    module_px: int = layout.MODULE_PX,
) -> NDArray[np.float32]:
    """`box` of a registered scan, one value per module: the mean of its pixels (exact on
    an unrotated capture for 2- and 3-pixel modules)."""
    gx, gy = module_grid(box, module_px)
    # Bilinear sampling at a 2-px module's centre is already its 2×2 mean; a 3-px module
    # needs the 3×3 mean around its centre pixel.
    footprint = module_px if module_px % 2 == 1 else module_px - 1
    return sample(scan, reg, gx, gy, _MODULE_SIGMA, box=footprint)


#: Unsharp-mask gain that undoes a typical scanner's blur (σ ≈ 0.6 px) between modules.
SHARPEN = 1.0


def _sharpen(printed: NDArray[np.float32], gain: float) -> NDArray[np.float32]:
    """Undo the scanner's blur on the scrambled image, before unscrambling.

    In scrambled order neighbouring modules belong to unrelated blocks, so blur mixes
    unrelated content into every block edge; after unscrambling that shows as a grid of
    errors. Here the blur is still the same everywhere, and an unsharp mask undoes it.
    """
    if gain <= 0:
        return printed
    soft = ndimage.gaussian_filter(printed, 0.7)
    return np.asarray(printed + gain * (printed - soft), dtype=np.float32)


def _read_header(scan: NDArray[np.uint8], reg: Registration) -> NDArray[np.bool_]:
    """The header cells as bits: 3×5 samples inside each cell (clear of its edges), averaged."""
    h = layout.HEADER
    offs_x = np.linspace(3, layout.HEADER_CELL_W - 4, 3)
    offs_y = np.linspace(5, h.h - 6, 5)
    starts = h.x + layout.HEADER_CELL_W * np.arange(layout.HEADER_BITS)
    # Shape (bits, rows, columns), so each cell's samples are contiguous after ravel().
    xs, ys = np.broadcast_arrays(
        starts[:, None, None] + offs_x[None, None, :], h.y + offs_y[None, :, None]
    )
    values = sample(scan, reg, xs.ravel(), ys.ravel(), 1.0)
    means = values.reshape(layout.HEADER_BITS, -1).mean(axis=1)
    return np.asarray(means < 128.0)


def read_back(scan: NDArray[np.uint8], key: bytes, sharpen: float = SHARPEN) -> BackReading:
    """Register a scan of the back, check its header and unscramble the front's content box.

    `sharpen` is the unsharp-mask gain applied before unscrambling: the default suits a
    flatbed scan; 0 reads a printer's capture (no optics) exactly.

    Raises RegistrationError (marks not found), HeaderDamagedError (not a back, or damaged),
    WrongKeyError (another key), PageFormatError (not a 300 dpi A4 gray image).
    """
    check_page(scan, "scan")
    scramble.check_key(key)
    reg = register(scan)
    nonce, area = scramble.parse_header_area(bytes(key), _read_header(scan, reg))
    printed = read_modules(scan, reg, area.back, layout.BACK_MODULE_PX)
    modules = scramble.unscramble(_sharpen(printed, sharpen), bytes(key), nonce, area)
    page = np.full(layout.PAGE_SHAPE, 255, dtype=np.uint8)
    _paint(page, area, _to_cells(modules), "front")
    return BackReading(image=page, nonce=nonce, registration=reg, area=area)


def decode_back(scan: NDArray[np.uint8], key: bytes) -> NDArray[np.uint8]:
    """The front's content as carried by the back: a page-size image, white outside the
    content area (for an A4 sheet each 3×3-pixel square is one 100 dpi module)."""
    return read_back(scan, key).image

"""Where every mark sits on an A4 sheet at 300 dpi (the printer's raster).

One fixed layout serves every certificate, so a verifier needs only the key, never the
document, to find the marks. Coordinates are pixel indices (x right, y down) on the
2480×3508 page that Ghostscript renders from an A4 PDF at 300 dpi.

- Content areas: what the back's scrambled image carries (`ContentArea`). `AREA_A5` is the
  A5 area centred on A4 where A5 certificate data is printed (seed I.4.1 (8)), widened by
  12 px to a whole number of scramble blocks, read at 150 dpi. `AREA_A4` is everything a
  full A4 municipal page prints on (48 pt margins, the municipal footer and the centre's
  stamp included), read at 100 dpi so that it fits the same place on the back.
- Registration marks: four solid squares in the left and right sheet margins, outside both
  content areas (municipal A4 PDFs keep 48 pt = 200 px free at the sides), on both sides.
- Header strip (back only): the scramble nonce, key tag and CRC as a row of black/white
  cells just above the A5 area.
- Emblem: the 偽変造防止検出画像 (visible ring with a latent image), bottom centre of both sides.
- けん制文字 pattern: everywhere else (on the back, not inside the scramble zone).
"""

from __future__ import annotations

from dataclasses import dataclass

DPI = 300
PAGE_W = 2480
PAGE_H = 3508
PAGE_SHAPE = (PAGE_H, PAGE_W)

#: Front pixels per scramble module side, and back pixels per module side.
MODULE_PX = 2
#: Modules per scramble block side.
BLOCK_MODULES = 8


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def x1(self) -> int:
        return self.x + self.w

    @property
    def y1(self) -> int:
        return self.y + self.h

    def grown(self, by: int) -> Box:
        return Box(self.x - by, self.y - by, self.w + 2 * by, self.h + 2 * by)


CONTENT = Box(x=(PAGE_W - 1760) // 2, y=(PAGE_H - 2480) // 2, w=1760, h=2480)

#: Back pixels per module side (the back always prints modules as 2×2-pixel squares).
BACK_MODULE_PX = MODULE_PX


@dataclass(frozen=True)
class ContentArea:
    """One way to carry the front on the back: the front box read, the front pixels per
    module side, and where on the back the scrambled modules are printed (2×2 px each)."""

    name: str
    front: Box
    module_px: int
    back: Box

    @property
    def modules_w(self) -> int:
        return self.front.w // self.module_px

    @property
    def modules_h(self) -> int:
        return self.front.h // self.module_px

    @property
    def blocks_w(self) -> int:
        return self.modules_w // BLOCK_MODULES

    @property
    def blocks_h(self) -> int:
        return self.modules_h // BLOCK_MODULES

    @property
    def dpi(self) -> float:
        return DPI / self.module_px


#: A5 content centred on A4, at 150 dpi; printed on the back exactly behind itself.
AREA_A5 = ContentArea("A5", front=CONTENT, module_px=MODULE_PX, back=CONTENT)
#: A full A4 page: x 184–2296, y 160–3472 (municipal A4 ink measured at x 198–2284,
#: y 182–3450 with the centre's stamp), at 100 dpi (3×3-pixel modules): 704×1104 modules,
#: printed 1408×2208 px, centred inside the A5 area of the back.
_A4_FRONT = Box(x=184, y=160, w=2112, h=3312)
_A4_BACK_W, _A4_BACK_H = _A4_FRONT.w * BACK_MODULE_PX // 3, _A4_FRONT.h * BACK_MODULE_PX // 3
AREA_A4 = ContentArea(
    "A4",
    front=_A4_FRONT,
    module_px=3,
    back=Box(
        x=CONTENT.x + (CONTENT.w - _A4_BACK_W) // 2,
        y=CONTENT.y + (CONTENT.h - _A4_BACK_H) // 2,
        w=_A4_BACK_W,
        h=_A4_BACK_H,
    ),
)
AREAS: dict[str, ContentArea] = {a.name: a for a in (AREA_A5, AREA_A4)}
#: Where certificate content may be on any sheet: marks outside it never touch content.
ALL_CONTENT = _A4_FRONT

#: Registration marks: side length and centres (page pixel-index coordinates, x, y). They
#: sit in the side margins, 120 px (10 mm) in from the sheet edge, at ±600 px from the
#: middle height: near the middle, a rotated scan moves them little sideways.
FIDUCIAL_SIZE = 40
_FID_IN = 120
_FID_DY = 600
FIDUCIALS: tuple[tuple[float, float], ...] = tuple(
    (cx - 0.5, cy - 0.5)
    for cx, cy in (
        (_FID_IN, PAGE_H // 2 - _FID_DY),
        (PAGE_W - _FID_IN, PAGE_H // 2 - _FID_DY),
        (_FID_IN, PAGE_H // 2 + _FID_DY),
        (PAGE_W - _FID_IN, PAGE_H // 2 + _FID_DY),
    )
)
#: How far (px) from its nominal place a mark is searched for in a scan.
FIDUCIAL_SEARCH = 150

#: Header strip: bits, cell size and top-left corner.
HEADER_BITS = 8 * (8 + 4 + 2)  # nonce, key tag, CRC-16
HEADER_CELL_W = 12
HEADER_CELL_H = 24
HEADER = Box(
    x=CONTENT.x + (CONTENT.w - HEADER_BITS * HEADER_CELL_W) // 2,
    y=CONTENT.y - 60,
    w=HEADER_BITS * HEADER_CELL_W,
    h=HEADER_CELL_H,
)

#: Emblem (latent image): centre and outer radius of the visible ring.
EMBLEM_CX = PAGE_W // 2
EMBLEM_CY = CONTENT.y1 + 260
EMBLEM_R = 150
EMBLEM_RING = 10
EMBLEM = Box(EMBLEM_CX - EMBLEM_R, EMBLEM_CY - EMBLEM_R, 2 * EMBLEM_R, 2 * EMBLEM_R)

#: Clear space kept around marks so the けん制文字 pattern never touches them.
QUIET = 24

"""Where every mark sits on an A4 sheet at 300 dpi (the printer's raster).

One fixed layout serves every certificate, so a verifier needs only the key, never the
document, to find the marks. Coordinates are pixel indices (x right, y down) on the
2480×3508 page that Ghostscript renders from an A4 PDF at 300 dpi.

- Content box: the A5 area centred on A4 where the municipality's certificate data is printed
  (seed I.4.1 (8)), widened by 12 px so its size is a whole number of scramble blocks.
  The front's content box is what the back's scrambled image carries.
- Registration marks: four solid squares in the margin, one beyond each corner of the
  content box, on both sides.
- Header strip (back only): the scramble nonce, key tag and CRC as a row of black/white
  cells just above the scrambled image.
- Emblem: the 偽変造防止検出画像 (visible ring with a latent image), bottom centre of both sides.
- けん制文字 pattern: everywhere else (on the back, not inside the scrambled image).
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
MODULES_W = CONTENT.w // MODULE_PX  # 880
MODULES_H = CONTENT.h // MODULE_PX  # 1240
BLOCKS_W = MODULES_W // BLOCK_MODULES  # 110
BLOCKS_H = MODULES_H // BLOCK_MODULES  # 155

#: Registration marks: side length and centres (page pixel-index coordinates, x, y).
FIDUCIAL_SIZE = 40
_FID_OUT = 120
FIDUCIALS: tuple[tuple[float, float], ...] = tuple(
    (cx - 0.5, cy - 0.5)
    for cx, cy in (
        (CONTENT.x - _FID_OUT, CONTENT.y - _FID_OUT),
        (CONTENT.x1 + _FID_OUT, CONTENT.y - _FID_OUT),
        (CONTENT.x - _FID_OUT, CONTENT.y1 + _FID_OUT),
        (CONTENT.x1 + _FID_OUT, CONTENT.y1 + _FID_OUT),
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

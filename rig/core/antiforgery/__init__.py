"""Anti-forgery marks for issued certificates, and the devices that test them (issue 9).

The issuance centre's processing stage calls `apply_marks` on every page the municipality
sends and `sheets_to_pdf` to hand the printer a duplex PDF; the verification web site calls
`read_back`/`decode_back` and `compare` on a customer's scans; scenarios call
`inspect_sheet` on the printer's captures, and `copier` to make a forged copy.

- けん制文字 (copy-evident 「複写」 pattern): `kensei_contrast`, `kensei.pattern_layer`
- スクランブル画像 (keyed scramble of the front on the back): `apply_marks`, `read_back`,
  `decode_back`, `compare`, `scramble.nonce_for`; the content areas `AREA_A5` (A5 content
  centred on A4, 150 dpi) and `AREA_A4` (a full A4 page, 100 dpi)
- 偽変造防止検出画像 (emblem with a latent image) and its special viewer: `detect_latent`
- models: `copier` (photocopier), `scan` (flatbed scanner)

See docs/antiforgery.md.
"""

from __future__ import annotations

from rig.core.antiforgery.comparison import MATCH_SSIM, CompareReport, compare
from rig.core.antiforgery.devices import copier, scan
from rig.core.antiforgery.errors import (
    AntiforgeryError,
    HeaderDamagedError,
    KeyFormatError,
    PageFormatError,
    PdfError,
    RegistrationError,
    WrongKeyError,
)
from rig.core.antiforgery.kensei import INVISIBLE_BELOW, VISIBLE_ABOVE, kensei_contrast
from rig.core.antiforgery.latent import LatentReading, detect_latent
from rig.core.antiforgery.layout import AREA_A4, AREA_A5, PAGE_SHAPE, Box, ContentArea
from rig.core.antiforgery.marks import BackReading, apply_marks, decode_back, fixed_marks, read_back
from rig.core.antiforgery.pdf import rasterize_pdf, sheets_to_pdf
from rig.core.antiforgery.scramble import nonce_for
from rig.core.antiforgery.sheet import SheetReport, SideReport, inspect_sheet, inspect_side

__all__ = [
    "AREA_A4",
    "AREA_A5",
    "INVISIBLE_BELOW",
    "MATCH_SSIM",
    "PAGE_SHAPE",
    "VISIBLE_ABOVE",
    "AntiforgeryError",
    "BackReading",
    "Box",
    "CompareReport",
    "ContentArea",
    "HeaderDamagedError",
    "KeyFormatError",
    "LatentReading",
    "PageFormatError",
    "PdfError",
    "RegistrationError",
    "SheetReport",
    "SideReport",
    "WrongKeyError",
    "apply_marks",
    "compare",
    "copier",
    "decode_back",
    "detect_latent",
    "fixed_marks",
    "inspect_sheet",
    "inspect_side",
    "kensei_contrast",
    "nonce_for",
    "rasterize_pdf",
    "read_back",
    "scan",
    "sheets_to_pdf",
]

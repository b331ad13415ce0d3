"""What the site does with an upload, without HTTP: find the back, decode it, check it.

`verify_back` tries each candidate page (an image is one page; a PDF up to four) with each
key of the ring, and keeps the first page that decodes. When nothing decodes, the most telling
refusal wins: `wrong_key` (a real back, another centre's key) over `not_a_back` (marks found,
header unreadable: usually the front) over `registration_not_found`.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from emulators.verification.images import DecodedUpload, PageImage
from emulators.verification.keys import KeyRing
from emulators.verification.problems import Problem
from rig.core.antiforgery import (
    MATCH_SSIM,
    AntiforgeryError,
    BackReading,
    CompareReport,
    HeaderDamagedError,
    RegistrationError,
    WrongKeyError,
    compare,
    layout,
    read_back,
)

MAX_DOCUMENT_ID = 256
#: The back carries the front at 2×2-pixel modules: 150 dpi is its native resolution.
DECODED_DPI = 150
PREVIEW_DPI = 75

_RANK = {"registration_not_found": 0, "not_a_back": 1, "wrong_key": 2}


@dataclass(frozen=True)
class Verification:
    """A decoded back: the reading, which key and page, and the document check."""

    reading: BackReading
    key_id: str
    key: bytes = field(repr=False)
    page: PageImage
    upload: DecodedUpload
    document_id: str | None
    comparison: CompareReport | None = None

    @property
    def document_matches(self) -> bool | None:
        """Was the sheet printed for `document_id`? None when no id was given."""
        if self.document_id is None:
            return None
        return self.reading.matches_document(self.key, self.document_id)


def check_document_id(value: str | None) -> str | None:
    """An empty field means "not given"; otherwise 1–256 characters."""
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    if len(value) > MAX_DOCUMENT_ID or not value.isprintable():
        raise Problem("invalid_document_id", f"1–{MAX_DOCUMENT_ID} printable characters")
    return value


def _problem_for(exc: AntiforgeryError) -> Problem:
    if isinstance(exc, WrongKeyError):
        return Problem("wrong_key", str(exc), registration_found=True)
    if isinstance(exc, HeaderDamagedError):
        return Problem("not_a_back", str(exc), registration_found=True)
    if isinstance(exc, RegistrationError):
        return Problem("registration_not_found", str(exc), registration_found=False)
    raise exc  # page format or key format: the site's own fault, surfaces as a 500


def verify_back(upload: DecodedUpload, keys: KeyRing, document_id: str | None) -> Verification:
    best: Problem | None = None
    for page in upload.pages:
        for key_id, key in keys:
            try:
                reading = read_back(page.pixels, key)
            except AntiforgeryError as exc:
                problem = _problem_for(exc)
                if best is None or _RANK[problem.code] > _RANK[best.code]:
                    best = problem
                if isinstance(exc, WrongKeyError):
                    continue  # the next key may fit
                break  # registration and header do not depend on the key
            comparison = _paired_front(upload, page, reading)
            return Verification(reading, key_id, key, page, upload, document_id, comparison)
    assert best is not None
    if len(upload.pages) > 1:
        best.extensions["pages_read"] = len(upload.pages)
    raise best


def _paired_front(
    upload: DecodedUpload, back: PageImage, reading: BackReading
) -> CompareReport | None:
    """In a PDF of a duplex scan pages run front, back: compare the back with its front."""
    if upload.format != "pdf" or back.page % 2 == 1:
        return None
    front = upload.pages[back.page - 2]
    try:
        return compare(front.pixels, reading.image)
    except AntiforgeryError:
        return None  # not a registrable front: verify still answers for the back


def compare_front(front: DecodedUpload, reading: BackReading) -> CompareReport:
    """Compare the first registrable page of a front upload with the decoded back."""
    last: str = ""
    for page in front.pages:
        try:
            return compare(page.pixels, reading.image)
        except AntiforgeryError as exc:
            last = str(exc)
    raise Problem("front_unreadable", last)


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def decoded_front_png(reading: BackReading) -> bytes:
    """The decoded front area, one pixel per module (nothing is lost): the A5 box at 150 dpi,
    or the whole A4 content area at 100 dpi, whichever the back carries."""
    c, m = reading.area.front, reading.area.module_px
    box = np.ascontiguousarray(reading.image[c.y : c.y1 : m, c.x : c.x1 : m])
    return png_bytes(Image.fromarray(box))


def preview_png(page: PageImage) -> bytes:
    """The page as the site read it, at 75 dpi, to show beside the decoded front."""
    return png_bytes(Image.fromarray(page.pixels).reduce(layout.DPI // PREVIEW_DPI))


def decoded_page_from_png(png: bytes) -> NDArray[np.uint8]:
    """A client's helper: the API's `decoded_front_png` back as a 300 dpi page (white outside
    the content box), the form `rig.core.antiforgery.compare` takes."""
    with Image.open(io.BytesIO(png)) as img:
        box = np.asarray(img.convert("L"), dtype=np.uint8)
    # the image's size says which content area it is (A5 at 150 dpi or A4 at 100 dpi)
    for area in (layout.AREA_A5, layout.AREA_A4):
        c, m = area.front, area.module_px
        if box.shape == (c.h // m, c.w // m):
            break
    else:
        sizes = " or ".join(
            f"{a.front.w // a.module_px}×{a.front.h // a.module_px}"
            for a in (layout.AREA_A5, layout.AREA_A4)
        )
        raise ValueError(f"decoded image must be {sizes}, got {box.shape[::-1]}")
    page = np.full(layout.PAGE_SHAPE, 255, dtype=np.uint8)
    page[c.y : c.y1, c.x : c.x1] = np.repeat(np.repeat(box, m, axis=0), m, axis=1)
    return page


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def comparison_json(report: CompareReport) -> dict[str, Any]:
    return {
        "ssim": round(report.ssim, 4),
        "match_ssim": MATCH_SSIM,
        "matches": report.matches,
        "altered": [{"x": b.x, "y": b.y, "w": b.w, "h": b.h} for b in report.altered],
        "altered_fraction": round(report.altered_fraction, 5),
    }


def verification_json(found: Verification) -> dict[str, Any]:
    reg = found.reading.registration
    c = layout.CONTENT
    scales = np.linalg.svd(reg.matrix[:, :2], compute_uv=False)
    return {
        "result": "decoded",
        "registration": {
            "found": True,
            "rotation_deg": round(reg.rotation_deg, 3),
            "scale": round(float(scales.mean()), 5),
            "residual_px": round(reg.residual_px, 3),
        },
        "nonce": found.reading.nonce.hex(),
        "key_id": found.key_id,
        "document": {"id": found.document_id, "matches": found.document_matches},
        "source": {
            "format": found.upload.format,
            "page": found.page.page,
            "pages_read": len(found.upload.pages),
            "width": found.upload.width,
            "height": found.upload.height,
            "dpi": round(found.page.source_dpi, 2),
        },
        "decoded_front_png": _b64(decoded_front_png(found.reading)),
        "decoded_box": {"x": c.x, "y": c.y, "w": c.w, "h": c.h, "dpi": DECODED_DPI},
        "back_preview_png": _b64(preview_png(found.page)),
        "preview_dpi": PREVIEW_DPI,
        "comparison": None if found.comparison is None else comparison_json(found.comparison),
    }

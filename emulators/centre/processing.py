"""The centre's processing stage: the municipality's PDF in, the printable PDF out.

One function per stage, one signature (`MarkStage`): `stage(pdf, context) -> ProcessedDocument`
with the output PDF and facts about every page. The service never looks inside the PDF
itself, so a stage with the full anti-forgery marks replaces this one by configuration.

`layout_stage` (the default today) does, per page:
- places it on A4 portrait: an A5 page centred (seed I.4.1 (8)), an A4 page as is; a page
  larger than A4 is refused (`ProcessingError`);
- stamps the sheet: a centre line at the foot (document id, sheet x/y, issue time) and, for
  A5 content, four corner marks around the A5 area;
- reads the municipality's machine-readable line (`RID:… DOC:… PAGE:x/y`) when present, so
  the service can check that every page belongs to the applicant.
It keeps the municipality's vector content (text stays extractable) and drops its metadata.

`antiforgery_stage(key)` adds the full marks from `rig.antiforgery` (けん制文字, スクランブル
画像 on the back, 偽変造防止検出画像): it rasterises the laid-out pages with Ghostscript at
300 dpi, applies the marks, and returns a duplex raster PDF (front, back per page). The back
of an A5 page carries its A5 area at 150 dpi; the back of an A4 (or other) page carries the
whole A4 content area at 100 dpi, so nothing the front prints escapes the comparison.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pypdf import PdfReader, PdfWriter, Transformation
from pypdf.errors import PyPdfError
from reportlab.lib.pagesizes import A4, A5
from reportlab.pdfgen.canvas import Canvas

A4_W, A4_H = A4
A5_W, A5_H = A5
#: Size tolerance when classifying paper (points).
_TOLERANCE = 2.0
MAX_PAGES = 100
_MARK = re.compile(r"RID:(\S+) DOC:(\S+) MUNI:(\d{6}) PAGE:(\d+)/(\d+)")
LAYOUT_MARKS = ("a4-layout", "centre-stamp")
FULL_MARKS = ("kensei", "scramble", "latent-emblem")


class ProcessingError(ValueError):
    """The municipality's PDF cannot be made printable (unreadable, empty, oversized)."""


@dataclass(frozen=True)
class StageContext:
    """What a stage may print on the sheets: never anything personal."""

    document_id: str
    request_id: str
    municipality_code: str
    issued_at: datetime


@dataclass(frozen=True)
class PageFacts:
    """One municipal page as the stage saw and placed it."""

    number: int
    paper: str  # "A4", "A5" or "other"
    width_pt: float
    height_pt: float
    offset_pt: tuple[float, float]  # where its lower-left corner sits on the A4 sheet
    resident_id: str | None  # from the machine-readable line, when the municipality prints one
    document_id: str | None
    page_label: tuple[int, int] | None  # (x, y) from "PAGE:x/y"
    marks: tuple[str, ...]


@dataclass(frozen=True)
class ProcessedDocument:
    pdf: bytes
    pages: tuple[PageFacts, ...]
    sides: int  # pages in the output PDF (2 per sheet when duplex)
    duplex: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()

    @property
    def resident_ids(self) -> set[str | None]:
        return {p.resident_id for p in self.pages}


MarkStage = Callable[[bytes, StageContext], ProcessedDocument]


def _paper(width: float, height: float) -> str:
    for name, (w, h) in (("A4", (A4_W, A4_H)), ("A5", (A5_W, A5_H))):
        if abs(width - w) <= _TOLERANCE and abs(height - h) <= _TOLERANCE:
            return name
    return "other"


def _stamps(ctx: StageContext, placed: list[tuple[float, float, float, float]]) -> PdfReader:
    """One overlay page per sheet: the centre line and, around A5 content, corner marks."""
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=True)
    total = len(placed)
    for index, (x, y, w, h) in enumerate(placed, start=1):
        c.setFont("Helvetica", 6)
        c.setFillGray(0.35)
        c.drawCentredString(
            A4_W / 2,
            14,
            f"KONBINI-RIG ISSUANCE CENTRE  DOC {ctx.document_id}  SHEET {index}/{total}  "
            f"{ctx.issued_at:%Y-%m-%d %H:%M}",
        )
        if w < A4_W - _TOLERANCE:
            c.setStrokeGray(0.5)
            c.setLineWidth(0.4)
            arm = 10.0
            for cx, cy, dx, dy in (
                (x, y, -1, -1),
                (x + w, y, 1, -1),
                (x, y + h, -1, 1),
                (x + w, y + h, 1, 1),
            ):
                c.line(cx + dx * 3, cy, cx + dx * (3 + arm), cy)
                c.line(cx, cy + dy * 3, cx, cy + dy * (3 + arm))
        c.showPage()
    c.save()
    return PdfReader(io.BytesIO(buf.getvalue()))


def _read(pdf: bytes) -> PdfReader:
    if not pdf.startswith(b"%PDF-"):
        raise ProcessingError("not a PDF")
    try:
        reader = PdfReader(io.BytesIO(pdf), strict=False)
        count = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProcessingError(f"unreadable PDF: {type(exc).__name__}") from exc
    if not 1 <= count <= MAX_PAGES:
        raise ProcessingError(f"{count} pages (1–{MAX_PAGES} accepted)")
    return reader


def _mark_of(text: str) -> tuple[str | None, str | None, tuple[int, int] | None]:
    found = _MARK.search(text)
    if found is None:
        return None, None, None
    return found.group(1), found.group(2), (int(found.group(4)), int(found.group(5)))


def layout_stage(pdf: bytes, ctx: StageContext) -> ProcessedDocument:
    """A4 layout and centre stamp (see the module docstring)."""
    reader = _read(pdf)
    writer = PdfWriter()
    facts: list[PageFacts] = []
    placed: list[tuple[float, float, float, float]] = []
    try:
        for number, page in enumerate(reader.pages, start=1):
            width, height = float(page.mediabox.width), float(page.mediabox.height)
            if width > A4_W + _TOLERANCE or height > A4_H + _TOLERANCE or width <= 0 or height <= 0:
                raise ProcessingError(f"page {number} is {width:.0f}×{height:.0f} pt, not ≤ A4")
            dx, dy = (A4_W - width) / 2, (A4_H - height) / 2
            resident, document, label = _mark_of(page.extract_text() or "")
            sheet = writer.add_blank_page(A4_W, A4_H)
            sheet.merge_transformed_page(page, Transformation().translate(dx, dy))
            placed.append((dx, dy, width, height))
            facts.append(
                PageFacts(
                    number=number,
                    paper=_paper(width, height),
                    width_pt=round(width, 2),
                    height_pt=round(height, 2),
                    offset_pt=(round(dx, 2), round(dy, 2)),
                    resident_id=resident,
                    document_id=document,
                    page_label=label,
                    marks=LAYOUT_MARKS,
                )
            )
        stamps = _stamps(ctx, placed)
        for sheet, stamp in zip(writer.pages, stamps.pages, strict=True):
            sheet.merge_page(stamp)
        out = io.BytesIO()
        writer.write(out)
    except ProcessingError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ProcessingError(f"cannot lay out the PDF: {type(exc).__name__}") from exc
    return ProcessedDocument(out.getvalue(), tuple(facts), len(facts), duplex=False)


def antiforgery_stage(key: bytes, base: MarkStage = layout_stage) -> MarkStage:
    """The full marks (rig.antiforgery) on top of `base`; the key is the centre's scramble key."""
    from rig.antiforgery import AntiforgeryError, apply_marks, rasterize_pdf, sheets_to_pdf

    def stage(pdf: bytes, ctx: StageContext) -> ProcessedDocument:
        laid_out = base(pdf, ctx)
        try:
            sides = []
            for front_page, placed in zip(rasterize_pdf(laid_out.pdf), laid_out.pages, strict=True):
                # The back carries the A5 area for A5 content, else the whole A4 area.
                paper: Literal["A5", "A4"] = "A5" if placed.paper == "A5" else "A4"
                front, back = apply_marks(front_page, key, ctx.document_id, paper=paper)
                sides += [front, back]
            out = sheets_to_pdf(sides)
        except AntiforgeryError as exc:
            raise ProcessingError(f"anti-forgery marks: {exc}") from exc
        facts = tuple(
            PageFacts(**{**p.__dict__, "marks": p.marks + FULL_MARKS}) for p in laid_out.pages
        )
        return ProcessedDocument(out, facts, len(sides), duplex=True)

    return stage

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

`antiforgery_stage(key)` adds the full marks from `rig.core.antiforgery` (けん制文字, スクランブル
画像 on the back, 偽変造防止検出画像): it rasterises the laid-out pages with Ghostscript at
300 dpi, applies the marks, and returns a duplex raster PDF (front, back per page). The back
of an A5 page carries its A5 area at 150 dpi; the back of an A4 (or other) page carries the
whole A4 content area at 100 dpi, so nothing the front prints escapes the comparison.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.errors import PyPdfError
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    RectangleObject,
    StreamObject,
)
from reportlab.lib.pagesizes import A4, A5
from reportlab.pdfbase.pdfmetrics import stringWidth

from rig.core.side_by_side import map_side_by_side

A4_W, A4_H = A4
A5_W, A5_H = A5
#: Size tolerance when classifying paper (points).
_TOLERANCE = 2.0
MAX_PAGES = 100
_MARK = re.compile(r"RID:(\S+) DOC:(\S+) MUNI:(\d{6}) PAGE:(\d+)/(\d+)")
#: The machine-readable line as one PDF literal string in a content stream.
_RAW_MARK = re.compile(rb"\((RID:[^()\\]{1,200})\)")
_STAMP_FONT = "RigCentreStamp"
_STAMP_SIZE = 6
#: (x, y, width, height) of the municipal page on the A4 sheet, in points.
Placement = tuple[float, float, float, float]
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


MarkStage = Callable[[bytes, StageContext], ProcessedDocument]


def _paper(width: float, height: float) -> str:
    for name, (w, h) in (("A4", (A4_W, A4_H)), ("A5", (A5_W, A5_H))):
        if abs(width - w) <= _TOLERANCE and abs(height - h) <= _TOLERANCE:
            return name
    return "other"


def _stamp_ops(ctx: StageContext, index: int, total: int, placed: Placement) -> bytes:
    """The centre's marks on one sheet as PDF operators: the centre line and, around A5
    content, corner marks. Written directly (Helvetica, a standard font needing no
    embedding) so that laying out a page never has to parse or re-encode its content."""
    line = (
        f"KONBINI-RIG ISSUANCE CENTRE  DOC {ctx.document_id}  SHEET {index}/{total}  "
        f"{ctx.issued_at:%Y-%m-%d %H:%M}"
    )
    x_text = A4_W / 2 - stringWidth(line, "Helvetica", _STAMP_SIZE) / 2
    ops = [
        f"q 0.35 g BT /{_STAMP_FONT} {_STAMP_SIZE} Tf 1 0 0 1 {x_text:.3f} 14 Tm "
        f"({_pdf_string(line)}) Tj ET Q"
    ]
    x, y, w, h = placed
    if w < A4_W - _TOLERANCE:
        arm = 10.0
        ops.append("q 0.5 G 0.4 w")
        for cx, cy, dx, dy in (
            (x, y, -1, -1),
            (x + w, y, 1, -1),
            (x, y + h, -1, 1),
            (x + w, y + h, 1, 1),
        ):
            ops.append(f"{cx + dx * 3:.3f} {cy:.3f} m {cx + dx * (3 + arm):.3f} {cy:.3f} l S")
            ops.append(f"{cx:.3f} {cy + dy * 3:.3f} m {cx:.3f} {cy + dy * (3 + arm):.3f} l S")
        ops.append("Q")
    return ("\n".join(ops) + "\n").encode("ascii")


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


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


def _contents(page: PageObject) -> list[IndirectObject]:
    """The page's content streams, by reference (so they are copied, never re-encoded)."""
    contents = page.get("/Contents")
    if isinstance(contents, IndirectObject):
        target = contents.get_object()
        if isinstance(target, ArrayObject):
            return list(target)
        return [contents] if isinstance(target, StreamObject) else []
    if isinstance(contents, ArrayObject):
        return list(contents)
    return []


def _page_mark(page: PageObject) -> tuple[str | None, str | None, tuple[int, int] | None]:
    """The machine-readable line of one page.

    A line written as one literal string (as the emulated server and most PDF producers
    write ASCII text) is found in the decoded content stream without parsing it: about a
    tenth of the cost of text extraction, which matters at hundreds of documents a second.
    Any other way of writing it falls back to full text extraction, so nothing is missed.
    """
    for ref in _contents(page):
        stream = ref.get_object()
        if not isinstance(stream, StreamObject):
            continue
        for literal in _RAW_MARK.findall(stream.get_data()):
            found = _mark_of(literal.decode("latin-1"))
            if found[0] is not None:
                return found
    return _mark_of(page.extract_text() or "")


def _plain(page: PageObject) -> bool:
    """A page the fast layout can carry as it is: no rotation, no annotations to move."""
    return int(page.get("/Rotate", 0) or 0) % 360 == 0 and "/Annots" not in page


def _stream(writer: PdfWriter, data: bytes) -> IndirectObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    return writer._add_object(stream)


def _place(writer: PdfWriter, page: PageObject, dx: float, dy: float, stamp: bytes) -> None:
    """Put `page` on an A4 sheet at (dx, dy) with the centre's stamp over it.

    A plain page becomes the sheet itself, its content streams wrapped in a translation and
    followed by the stamp: the municipality's streams, fonts and images are copied as they
    came, never decoded and re-encoded. Any other page (rotated, annotated) is merged onto a
    blank sheet, the general way."""
    if _plain(page):
        sheet = writer.add_page(page)
        before = [_stream(writer, f"q 1 0 0 1 {dx:.4f} {dy:.4f} cm\n".encode("ascii"))]
        after = _stream(writer, b"\nQ\n" + stamp)
        for box in ("/CropBox", "/BleedBox", "/TrimBox", "/ArtBox"):
            if box in sheet:
                del sheet[box]
        sheet[NameObject("/MediaBox")] = RectangleObject([0, 0, A4_W, A4_H])
    else:
        sheet = writer.add_blank_page(A4_W, A4_H)
        sheet.merge_transformed_page(page, Transformation().translate(dx, dy))
        before, after = [], _stream(writer, stamp)
    sheet[NameObject("/Contents")] = ArrayObject([*before, *_contents(sheet), after])
    _add_stamp_font(sheet)


def _dictionary(value: object) -> DictionaryObject:
    found = value.get_object() if isinstance(value, IndirectObject) else value
    return found if isinstance(found, DictionaryObject) else DictionaryObject()


def _add_stamp_font(sheet: PageObject) -> None:
    """Name Helvetica in the sheet's resources for the stamp (a name no producer uses)."""
    resources = _dictionary(sheet.get("/Resources"))
    fonts = _dictionary(resources.get("/Font"))
    fonts[NameObject(f"/{_STAMP_FONT}")] = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )
    resources[NameObject("/Font")] = fonts
    sheet[NameObject("/Resources")] = resources


def layout_stage(pdf: bytes, ctx: StageContext) -> ProcessedDocument:
    """A4 layout and centre stamp (see the module docstring)."""
    reader = _read(pdf)
    writer = PdfWriter()
    facts: list[PageFacts] = []
    try:
        total = len(reader.pages)
        for number, page in enumerate(reader.pages, start=1):
            width, height = float(page.mediabox.width), float(page.mediabox.height)
            if width > A4_W + _TOLERANCE or height > A4_H + _TOLERANCE or width <= 0 or height <= 0:
                raise ProcessingError(f"page {number} is {width:.0f}×{height:.0f} pt, not ≤ A4")
            left, bottom = float(page.mediabox.left), float(page.mediabox.bottom)
            dx, dy = (A4_W - width) / 2, (A4_H - height) / 2
            resident, document, label = _page_mark(page)
            stamp = _stamp_ops(ctx, number, total, (dx, dy, width, height))
            _place(writer, page, dx - left, dy - bottom, stamp)
            facts.append(
                PageFacts(
                    number=number,
                    paper=_paper(width, height),
                    offset_pt=(round(dx, 2), round(dy, 2)),
                    resident_id=resident,
                    document_id=document,
                    page_label=label,
                    marks=LAYOUT_MARKS,
                )
            )
        out = io.BytesIO()
        writer.write(out)
    except ProcessingError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ProcessingError(f"cannot lay out the PDF: {type(exc).__name__}") from exc
    return ProcessedDocument(out.getvalue(), tuple(facts), len(facts), duplex=False)


def antiforgery_stage(key: bytes, base: MarkStage = layout_stage) -> MarkStage:
    """The full marks (rig.core.antiforgery) on top of `base`; the key is the centre's
    scramble key."""
    from rig.core.antiforgery import AntiforgeryError, apply_marks, rasterize_pdf, sheets_to_pdf

    def stage(pdf: bytes, ctx: StageContext) -> ProcessedDocument:
        laid_out = base(pdf, ctx)

        def sheet(page: tuple[NDArray[np.uint8], PageFacts]) -> list[NDArray[np.uint8]]:
            front_page, placed = page
            # The back carries the A5 area for A5 content, else the whole A4 area.
            paper: Literal["A5", "A4"] = "A5" if placed.paper == "A5" else "A4"
            return list(apply_marks(front_page, key, ctx.document_id, paper=paper))

        try:
            fronts = rasterize_pdf(laid_out.pdf, page_count=len(laid_out.pages))
            pages = list(zip(fronts, laid_out.pages, strict=True))
            sides = [side for pair in map_side_by_side(sheet, pages) for side in pair]
            out = sheets_to_pdf(sides)
        except AntiforgeryError as exc:
            raise ProcessingError(f"anti-forgery marks: {exc}") from exc
        facts = tuple(dataclasses.replace(p, marks=p.marks + FULL_MARKS) for p in laid_out.pages)
        return ProcessedDocument(out, facts, len(sides), duplex=True)

    return stage

"""The processing stage: municipal PDF in → printable PDF out + per-page facts.

What it does today (layout stage): A5 pages centred on A4, A4 pages as they are, a centre
stamp on every sheet, the municipality's machine-readable resident line read per page.
The full anti-forgery stage (rig.core.antiforgery) is selectable and tested once here.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import A3, A4, A5
from reportlab.pdfgen.canvas import Canvas

from emulators.centre.processing import (
    FULL_MARKS,
    LAYOUT_MARKS,
    ProcessedDocument,
    ProcessingError,
    StageContext,
    antiforgery_stage,
    layout_stage,
)
from rig.core.clock import JST
from rig.core.drivers.centre_client import CentreApiError

from .conftest import CITY, CentreWorld

CTX = StageContext(
    "991015-20261124-000007", "req-1", "991015", datetime(2026, 11, 24, 10, tzinfo=JST)
)


def municipal_pdf(size: tuple[float, float], pages: int, rid: str = "991015-00001") -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=size)
    for n in range(1, pages + 1):
        c.setFont("Helvetica", 9)
        c.drawString(40, size[1] - 60, "CERTIFICATE BODY")
        c.drawString(40, 18, f"RID:{rid} DOC:{CTX.document_id} MUNI:991015 PAGE:{n}/{pages}")
        c.showPage()
    c.save()
    return buf.getvalue()


def test_a5_pages_are_centred_on_a4_and_stamped() -> None:
    out = layout_stage(municipal_pdf(A5, 2), CTX)
    assert out.sides == 2 and not out.duplex
    reader = PdfReader(io.BytesIO(out.pdf))
    for number, (page, facts) in enumerate(zip(reader.pages, out.pages, strict=True), start=1):
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
        assert facts.paper == "A5"
        assert facts.offset_pt == (round((A4[0] - A5[0]) / 2, 2), round((A4[1] - A5[1]) / 2, 2))
        assert (facts.resident_id, facts.document_id, facts.page_label) == (
            "991015-00001",
            CTX.document_id,
            (number, 2),
        )
        assert facts.marks == LAYOUT_MARKS
        text = page.extract_text()
        assert "CERTIFICATE BODY" in text  # the municipality's content is kept as it was
        assert f"DOC {CTX.document_id}  SHEET {number}/2" in text  # the centre's stamp
    assert reader.metadata is None or "RID" not in str(reader.metadata.subject)


def test_a4_pages_stay_in_place() -> None:
    out = layout_stage(municipal_pdf(A4, 1), CTX)
    assert out.pages[0].paper == "A4" and out.pages[0].offset_pt == (0.0, 0.0)


def test_unmarked_pdf_has_no_resident_facts() -> None:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4)
    c.drawString(40, 40, "a vendor's certificate without the rig's line")
    c.showPage()
    c.save()
    out = layout_stage(buf.getvalue(), CTX)
    assert out.pages[0].resident_id is None and out.pages[0].page_label is None


@pytest.mark.parametrize(
    ("pdf", "why"),
    [
        (b"not a pdf", "not a PDF"),
        (b"%PDF-1.4\n garbage", "unreadable"),
        (municipal_pdf(A3, 1), "not ≤ A4"),
    ],
)
def test_refused_inputs(pdf: bytes, why: str) -> None:
    with pytest.raises(ProcessingError, match=why):
        layout_stage(pdf, CTX)


def test_full_antiforgery_stage_makes_duplex_marked_sheets() -> None:
    stage = antiforgery_stage(b"k" * 32)
    out = stage(municipal_pdf(A5, 1), CTX)
    assert out.duplex and out.sides == 2  # front, back
    assert out.pages[0].marks == LAYOUT_MARKS + FULL_MARKS
    from rig.core.antiforgery import inspect_sheet, rasterize_pdf

    front, back = rasterize_pdf(out.pdf)
    report = inspect_sheet(front, back, b"k" * 32)
    assert report.genuine


def test_full_antiforgery_stage_carries_a_whole_a4_page_on_the_back() -> None:
    """An A4 page inked out to its 48 pt margins and down to the footer line: the marks stay
    clear of it, and the back carries all of it (at 100 dpi)."""
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4)
    c.setLineWidth(0.8)
    c.rect(48, 40, A4[0] - 96, A4[1] - 88, stroke=1, fill=0)  # the table frame, margin to margin
    for y in range(60, int(A4[1]) - 48, 18):
        c.line(48, y, A4[0] - 48, y)
    c.setFont("Helvetica", 6.5)
    c.drawString(48, 18, f"RID:991015-00001 DOC:{CTX.document_id} MUNI:991015 PAGE:1/1")
    c.showPage()
    c.save()
    stage = antiforgery_stage(b"k" * 32)
    out = stage(buf.getvalue(), CTX)
    assert out.pages[0].paper == "A4" and out.duplex and out.sides == 2
    from rig.core.antiforgery import inspect_sheet, layout, rasterize_pdf, read_back

    front, back = rasterize_pdf(out.pdf)
    assert read_back(back, b"k" * 32).area is layout.AREA_A4
    report = inspect_sheet(front, back, b"k" * 32)
    assert report.back_error is None and report.genuine


def test_a_page_of_someone_else_is_refused(world: CentreWorld) -> None:
    """The 徳島市 class: a stage (standing in for a faulty municipal server) that reports a
    page with another resident's id makes the centre refuse, delete and report it."""
    w = world

    def tampering(pdf: bytes, ctx: StageContext) -> ProcessedDocument:
        out = layout_stage(pdf, ctx)
        pages: list[Any] = list(out.pages)
        pages[0] = type(pages[0])(**{**pages[0].__dict__, "resident_id": "991015-99999"})
        return ProcessedDocument(out.pdf, tuple(pages), out.sides, out.duplex)

    w.centre.service.stage = tampering
    kiosk = w.kiosk()
    sid = w.jpki_login(kiosk, w.jpki_holder(0, CITY, w.find(CITY, "eligible", 21))).session_id
    with pytest.raises(CentreApiError) as exc:
        kiosk.request_certificate(sid, "resident_record")
    assert (exc.value.status, exc.value.code) == (502, "document_mismatch")
    assert w.centre.held_documents() == 0
    day = w.clock.now().date()
    stats = w.municipal.service.statistics(CITY, day, day)
    assert stats["by_type"][0]["cancelled_documents"] == 1


def _reshaped(pdf: bytes, **changes: Any) -> bytes:
    """The same PDF with page attributes changed (an origin off zero, a rotation)."""
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, NumberObject, RectangleObject

    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    for page in writer.pages:
        if "origin" in changes:
            x, y = changes["origin"]
            w, h = float(page.mediabox.width), float(page.mediabox.height)
            page[NameObject("/MediaBox")] = RectangleObject([x, y, x + w, y + h])
            # move the content with the box, as a producer with that origin would draw it
            page.add_transformation((1, 0, 0, 1, x, y))
        if "rotate" in changes:
            page[NameObject("/Rotate")] = NumberObject(changes["rotate"])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_page_whose_origin_is_off_zero_lands_centred_all_the_same() -> None:
    pdf = _reshaped(municipal_pdf(A5, 1), origin=(100, 200))
    out = layout_stage(pdf, CTX)
    page = PdfReader(io.BytesIO(out.pdf)).pages[0]
    assert [round(float(v), 2) for v in page.mediabox] == [0, 0, round(A4[0], 2), round(A4[1], 2)]
    assert "CropBox" not in str(page.keys())
    # the body line sits where it sits for an A5 page drawn from a zero origin
    plain = PdfReader(io.BytesIO(layout_stage(municipal_pdf(A5, 1), CTX).pdf)).pages[0]
    positions = _text_positions(page)
    assert any(text == "CERTIFICATE BODY" for text, _x, _y in positions)
    assert positions == _text_positions(plain)
    assert out.pages[0].resident_id == "991015-00001"


def test_a_rotated_page_goes_the_general_way_and_keeps_its_facts() -> None:
    out = layout_stage(_reshaped(municipal_pdf(A4, 1), rotate=90), CTX)
    text = PdfReader(io.BytesIO(out.pdf)).pages[0].extract_text()
    assert "CERTIFICATE BODY" in text and f"DOC {CTX.document_id}  SHEET 1/1" in text
    assert out.pages[0].page_label == (1, 1)


def test_a_resident_line_written_as_hex_text_is_still_read() -> None:
    """The fast path reads literal strings; any other encoding falls back to extraction."""
    line = f"RID:991015-00077 DOC:{CTX.document_id} MUNI:991015 PAGE:1/1"
    content = f"BT /F1 9 Tf 40 18 Td <{line.encode().hex()}> Tj ET".encode()
    pdf = _one_page_pdf(content)
    out = layout_stage(pdf, CTX)
    assert out.pages[0].resident_id == "991015-00077"


def _one_page_pdf(content: bytes) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(A4[0], A4[1])
    stream = DecodedStreamObject()
    stream.set_data(content)
    page[NameObject("/Contents")] = writer._add_object(stream)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _text_positions(page: Any) -> list[tuple[str, int, int]]:
    found: list[tuple[str, int, int]] = []

    def visit(text: str, cm: Any, tm: Any, *_: Any) -> None:
        if text.strip():
            x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            found.append((text.strip(), round(x), round(y)))

    page.extract_text(visitor_text=visit)
    return found

"""Sample documents for the printer's own tests, benchmark and ipptool runs (reportlab).

Certificate-like pages: A4 with full-page content, or A5 content (a framed 148 x 210 mm
block) placed on A4, centred as the centre's processing stage does or deliberately off.
Nothing here resembles real certificate data.
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4, A5, letter
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

PAGE_SIZES = {"a4": A4, "a5": A5, "letter": letter}


def make_pdf(
    pages: int = 1,
    *,
    page_size: str = "a4",
    a5_content: bool = False,
    offset_mm: tuple[float, float] = (0.0, 0.0),
    blank_pages: frozenset[int] = frozenset(),
    label: str = "SAMPLE",
) -> bytes:
    """A PDF of `pages` pages; `blank_pages` (1-based) stay empty.

    With `a5_content`, each page carries a framed A5 block centred on the page, moved by
    `offset_mm` (dx right, dy down) so tests can place it off-centre.
    """
    size = PAGE_SIZES[page_size]
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=size, invariant=True)
    width, height = size
    for number in range(1, pages + 1):
        if number not in blank_pages:
            if a5_content:
                a5w, a5h = A5
                x = (width - a5w) / 2 + offset_mm[0] * mm
                y = (height - a5h) / 2 - offset_mm[1] * mm
                pdf.setLineWidth(0.5)
                pdf.rect(x, y, a5w, a5h)
                pdf.drawString(x + 10 * mm, y + a5h - 20 * mm, f"{label} page {number} (A5)")
            else:
                pdf.setLineWidth(0.5)
                pdf.rect(15 * mm, 15 * mm, width - 30 * mm, height - 30 * mm)
                pdf.drawString(25 * mm, height - 30 * mm, f"{label} page {number}")
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def make_receipt_pdf(length_mm: float = 120.0) -> bytes:
    """A receipt (領収書) on 80 mm roll paper."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=(80 * mm, length_mm * mm), invariant=True)
    pdf.drawString(5 * mm, (length_mm - 15) * mm, "RECEIPT SAMPLE")
    pdf.drawString(5 * mm, (length_mm - 25) * mm, "fee 300 JPY")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()

"""Certificate PDFs (reportlab) with embedded IPAex fonts and a drawn municipal seal (公印).

Every page carries the municipality, the document id, "page x of y" and a machine-readable
line `RID:<resident id> DOC:<document id> MUNI:<code> PAGE:<x>/<y>` in an ASCII font so a
test can extract it; the PDF metadata (subject and keywords) repeats the resident id.
Output is byte-for-byte deterministic (reportlab's invariant mode).
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4, A5
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from emulators.municipal.certificates import Block, DocumentContent, wareki
from emulators.municipal.config import MunicipalityConfig

GOTHIC_TTF = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")
MINCHO_TTF = Path("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf")
GOTHIC = "IPAexGothic"
MINCHO = "IPAexMincho"
SEAL_RED = Color(0.85, 0.1, 0.1)
_fonts_lock = threading.Lock()
_fonts_ready = False


def register_fonts() -> None:
    """Register the Japanese TrueType fonts once per process (embedded as subsets)."""
    global _fonts_ready
    with _fonts_lock:
        if _fonts_ready:
            return
        for name, path in ((GOTHIC, GOTHIC_TTF), (MINCHO, MINCHO_TTF)):
            if not path.exists():
                raise FileNotFoundError(
                    f"{path} missing: install fonts-ipaexfont (scripts/setup.sh)"
                )
            pdfmetrics.registerFont(TTFont(name, str(path)))
        _fonts_ready = True


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int
    paper: str


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for ch in text:
        if pdfmetrics.stringWidth(current + ch, font, size) > width and current:
            lines.append(current)
            current = ch
        else:
            current += ch
    lines.append(current)
    return lines


def draw_office_seal(c: Canvas, cx: float, cy: float, radius: float, office: str) -> None:
    """The municipal seal (公印): a red double circle with the office name and 之印."""
    c.saveState()
    c.setStrokeColor(SEAL_RED)
    c.setFillColor(SEAL_RED)
    c.setLineWidth(2)
    c.circle(cx, cy, radius, stroke=1, fill=0)
    c.setLineWidth(0.8)
    c.circle(cx, cy, radius - 4, stroke=1, fill=0)
    size = min(radius * 0.5, (2 * radius - 14) / max(len(office), 1))
    c.setFont(MINCHO, size)
    c.drawCentredString(cx, cy + size * 0.15, office)
    c.drawCentredString(cx, cy - size * 1.05, "之印")
    c.restoreState()


def draw_seal_impression(c: Canvas, cx: float, cy: float, radius: float, text: str) -> None:
    """A registered personal seal (印影): a red circle with the text written vertically."""
    c.saveState()
    c.setStrokeColor(SEAL_RED)
    c.setFillColor(SEAL_RED)
    c.setLineWidth(2.2)
    c.circle(cx, cy, radius, stroke=1, fill=0)
    chars = list(text)[:4]
    size = min(radius * 0.9, (2 * radius - 10) / max(len(chars), 1))
    c.setFont(MINCHO, size)
    top = cy + (len(chars) * size) / 2 - size * 0.85
    for i, ch in enumerate(chars):
        c.drawCentredString(cx, top - i * size, ch)
    c.restoreState()


def render(
    content: DocumentContent,
    config: MunicipalityConfig,
    *,
    document_id: str,
    resident_id: str,
    issued_on: date,
) -> RenderedPdf:
    register_fonts()
    size = A5 if content.paper == "A5" else A4
    width, height = size
    small = content.paper == "A5"
    margin = 30.0 if small else 48.0
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=size, invariant=True)
    c.setTitle(f"{content.title} ({config.name})")
    c.setAuthor(config.office)
    c.setSubject(f"RID:{resident_id}")
    c.setKeywords(f"RID:{resident_id} DOC:{document_id} MUNI:{config.code}")
    c.setCreator("konbini-rig municipal issuance server emulator")
    total = len(content.pages)
    body_size = 8.5 if small else 10.0
    line_h = body_size * 1.55
    label_w = 88.0 if small else 120.0
    # the header is set like a block without a heading, on every page
    header = [Block(None, content.header)] if content.header else []
    for index, blocks in enumerate(content.pages, start=1):
        y = height - margin
        c.setFont(MINCHO, 15 if small else 20)
        c.drawCentredString(width / 2, y - 12, content.title)
        y -= 36 if small else 46
        for block in header + blocks:
            y = _block(c, block, margin, y, width - 2 * margin, label_w, body_size, line_h)
            y -= 8
        if index == total:
            _attestation(c, content, config, issued_on, margin, y, width, body_size, small)
        _footer(c, config, document_id, resident_id, index, total, margin, width)
        c.showPage()
    c.save()
    return RenderedPdf(data=buf.getvalue(), pages=total, paper=content.paper)


def _rows(
    c: Canvas,
    rows: list[tuple[str, str]],
    x: float,
    y: float,
    w: float,
    label_w: float,
    size: float,
    line_h: float,
) -> float:
    top = y
    for label, value in rows:
        lines = _wrap(value, GOTHIC, size, w - label_w - 12)
        c.setFont(GOTHIC, size)
        c.drawString(x + 6, y - size - 3, label)
        for i, line in enumerate(lines):
            c.drawString(x + label_w + 6, y - size - 3 - i * line_h, line)
        y -= line_h * len(lines) + 3
        c.setLineWidth(0.3)
        c.setStrokeColor(black)
        c.line(x, y, x + w, y)
    c.setLineWidth(0.8)
    c.rect(x, y, w, top - y, stroke=1, fill=0)
    c.line(x + label_w, y, x + label_w, top)
    return y


def _block(
    c: Canvas,
    block: Block,
    x: float,
    y: float,
    w: float,
    label_w: float,
    size: float,
    line_h: float,
) -> float:
    if block.heading:
        c.setFont(GOTHIC, size)
        c.drawString(x, y - size - 2, f"【{block.heading}】")
        y -= line_h + 2
    top = y
    rows_w = w - 90 if block.seal_impression else w
    y = _rows(c, block.rows, x, y, rows_w, label_w, size, line_h)
    if block.seal_impression:
        radius = 30.0
        cy = max(y + radius + 4, top - radius - 10)
        draw_seal_impression(c, x + w - 45, cy, radius, block.seal_impression)
        y = min(y, top - 2 * radius - 20)
    return y


def _attestation(
    c: Canvas,
    content: DocumentContent,
    config: MunicipalityConfig,
    issued_on: date,
    margin: float,
    y: float,
    width: float,
    size: float,
    small: bool,
) -> None:
    y = max(y - 10, 150.0 if not small else 110.0)
    c.setFont(MINCHO, size + 1)
    for line in _wrap(content.attestation, MINCHO, size + 1, width - 2 * margin):
        c.drawString(margin, y - size, line)
        y -= size * 1.6
    c.drawString(margin, y - size - 6, wareki(issued_on))
    y -= size * 2 + 16
    office_line = f"{config.office}  {config.mayor}"
    radius = 26.0 if small else 30.0
    c.setFont(MINCHO, size + 3)
    c.drawRightString(width - margin - 2 * radius - 16, y - size, office_line)
    draw_office_seal(c, width - margin - radius, y - size / 2, radius, config.office)


def _footer(
    c: Canvas,
    config: MunicipalityConfig,
    document_id: str,
    resident_id: str,
    index: int,
    total: int,
    margin: float,
    width: float,
) -> None:
    c.setFont(GOTHIC, 8)
    c.drawString(margin, 30, f"{config.prefecture}{config.name}  文書番号 {document_id}")
    c.drawRightString(width - margin, 30, f"{index} / {total} ページ")
    c.setFont("Helvetica", 6.5)
    c.drawString(
        margin,
        18,
        f"RID:{resident_id} DOC:{document_id} MUNI:{config.code} PAGE:{index}/{total}",
    )

"""Ghostscript rendering: a PDF in, one 8-bit gray raster per page out (raw, never PNG).

Rendering goes through rig.core.pdf_raster: long-lived libgs interpreters per process (no
start-up per job), the pages written as raw PGM into the interpreter's private folder and
read straight into numpy arrays (about 13 ms per A4 page at 300 dpi). Any Ghostscript error
throws that interpreter away; the next job gets a fresh one.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pypdf import PdfReader

from rig.core.pdf_raster import GhostscriptFailed, RasterOptions, pgm_header, rasterize, summary

Raster = npt.NDArray[np.uint8]

#: A document with more pages than this is refused (a kiosk certificate has a handful);
#: the cap bounds the raster memory a hostile document can cost (8.7 MB per A4 page).
MAX_PAGES = 50


class RenderError(Exception):
    """Ghostscript could not render the document; `reason` is a job-state-reasons keyword."""

    def __init__(self, message: str, reason: str = "document-format-error"):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class RenderedPage:
    number: int  # 1-based page number in the document
    dpi: int
    pixels: Raster  # shape (height, width), 0 = black, 255 = white


def read_pgm(data: bytes) -> Raster:
    """Parse a binary PGM (P5, maxval 255) as Ghostscript's pgmraw device writes it."""
    try:
        width, height, offset = pgm_header(data[:256])
    except ValueError as exc:
        raise RenderError(f"unexpected raster format: {exc}", "processing-to-stop-point") from exc
    pixels = np.frombuffer(data, dtype=np.uint8, count=width * height, offset=offset)
    return pixels.reshape(height, width)


def write_pgm(path: Path, pixels: Raster) -> None:
    height, width = pixels.shape
    with path.open("wb") as fh:
        fh.write(f"P5\n{width} {height}\n255\n".encode())
        fh.write(np.ascontiguousarray(pixels).tobytes())


def _declared_pages(pdf: bytes) -> int | None:
    """The page count the PDF declares, if pypdf can read it (Ghostscript judges the rest)."""
    try:
        return len(PdfReader(io.BytesIO(pdf), strict=False).pages)
    except Exception:  # any parse failure: leave the verdict to Ghostscript
        return None


def page_texts(pdf: bytes) -> list[str]:
    """The text layer of each page (pypdf), "" for a page whose text cannot be read."""
    try:
        pages = PdfReader(io.BytesIO(pdf), strict=False).pages
    except Exception:  # a document Ghostscript rendered but pypdf cannot parse: no text
        return []
    texts: list[str] = []
    for page in pages:
        try:
            texts.append(page.extract_text() or "")
        except Exception:  # one unreadable page must not cost the others their text
            texts.append("")
    return texts


def _options(dpi: int) -> RasterOptions:
    # one page more than the cap, so that a document over it is seen and refused
    return RasterOptions(dpi=dpi, stop_on_error=True, no_interpolate=True, last_page=MAX_PAGES + 1)


def render_pdf(pdf: bytes, dpi: int = 300) -> list[RenderedPage]:
    """Render every page of `pdf` at its own media size; raises RenderError if it is broken."""
    if not pdf.lstrip()[:5].startswith(b"%PDF-"):
        raise RenderError("not a PDF (no %PDF- header)", "unsupported-document-format")
    declared = _declared_pages(pdf)
    if declared is not None and declared > MAX_PAGES:
        raise RenderError(f"{declared} pages: more than {MAX_PAGES}", "document-unprintable-error")
    try:
        rendered = rasterize(pdf, _options(dpi), page_count=declared)
    except GhostscriptFailed as exc:
        raise RenderError(str(exc)) from exc
    if not rendered.pages:
        raise RenderError(f"no pages rendered: {summary(rendered.log)}")
    if len(rendered.pages) > MAX_PAGES:
        raise RenderError(f"more than {MAX_PAGES} pages", "document-unprintable-error")
    if "error" in rendered.log.lower():
        # gs repaired a damaged file; a certificate printed from a repaired file is suspect
        raise RenderError(f"damaged PDF: {summary(rendered.log)}")
    return [RenderedPage(i + 1, dpi, pixels) for i, pixels in enumerate(rendered.pages)]

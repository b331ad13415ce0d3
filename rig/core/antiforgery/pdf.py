"""The marked sheets as a PDF for the printer, and Ghostscript rasterisation back to pixels.

`sheets_to_pdf` writes each page image as one PDF page holding a single 8-bit DeviceGray
image (Flate, lossless) drawn at exactly 300 dpi on an A4 MediaBox (595.276×841.89 pt).
The Flate streams come from ISA-L (`isal`, zlib-compatible output, about five times less CPU
than zlib at level 3 on a marked page); any FlateDecode reader inflates them.
Ghostscript at 300 dpi makes that page 2480×3508 pixels and maps image pixel to device
pixel one to one, so a printer that renders the PDF at 300 dpi gray gets back exactly the
pixels the marks were computed on (tests/antiforgery check this with the real `gs`).
Pages alternate front, back, front, back…: print them duplex, long-edge binding.

`rasterize_pdf` is that printer's view: Ghostscript (libgs, Debian package libgs10, through
rig.core.pdf_raster's long-lived interpreters) to 8-bit gray at 300 dpi, one array per page.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from isal import isal_zlib
from numpy.typing import NDArray

from rig.core.antiforgery import layout
from rig.core.antiforgery.errors import PdfError
from rig.core.antiforgery.kensei import check_page
from rig.core.pdf_raster import GhostscriptFailed, RasterOptions, rasterize
from rig.core.side_by_side import map_side_by_side

A4_PT = (595.276, 841.89)
GS_TIMEOUT_S = 60.0
MAX_PAGES = 200
#: ISA-L level 1: on a marked sheet as small as zlib's level 3 within 10 % for a fifth of its
#: CPU (level 2 costs more for the same size, 0 is larger); it is on every issuance's path.
FLATE_LEVEL = 1


def flate(page: NDArray[np.uint8]) -> bytes:
    """One page image's pixels, row by row, as a zlib (FlateDecode) stream."""
    return isal_zlib.compress(np.ascontiguousarray(page), FLATE_LEVEL)


def sheets_to_pdf(pages: Sequence[NDArray[np.uint8]]) -> bytes:
    """A PDF with one A4 page per image (2480×3508 uint8 gray), each drawn at 300 dpi."""
    if not 1 <= len(pages) <= MAX_PAGES:
        raise PdfError(f"need 1–{MAX_PAGES} pages, got {len(pages)}")
    for i, page in enumerate(pages):
        check_page(page, f"pages[{i}]")
    # Image size in points: exactly 300 dpi, anchored at the bottom-left corner.
    img_w = layout.PAGE_W * 72.0 / layout.DPI
    img_h = layout.PAGE_H * 72.0 / layout.DPI
    objects: list[bytes] = []
    page_ids = [3 + 3 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = b" ".join(b"%d 0 R" % pid for pid in page_ids)
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)))
    # the compression is most of the cost and releases the GIL: two pages at a time
    streams = map_side_by_side(flate, pages)
    for pid, data in zip(page_ids, streams, strict=True):
        content = b"q %.4f 0 0 %.4f 0 0 cm /Im0 Do Q" % (img_w, img_h)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.3f %.3f] "
            b"/Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>"
            % (A4_PT[0], A4_PT[1], pid + 2, pid + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        objects.append(
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
            b"/BitsPerComponent 8 /Interpolate false /Filter /FlateDecode /Length %d >>\n"
            b"stream\n%s\nendstream" % (layout.PAGE_W, layout.PAGE_H, len(data), data)
        )
    return pdf_file(objects)


def pdf_file(objects: Sequence[bytes]) -> bytes:
    """A PDF file of `objects` (numbered from 1; object 1 is the catalogue): header, the
    objects, their cross-reference table and the trailer."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def rasterize_pdf(
    pdf: bytes, dpi: int = layout.DPI, page_count: int | None = None
) -> list[NDArray[np.uint8]]:
    """Render every page of `pdf` with Ghostscript to 8-bit gray arrays at `dpi`.

    More than MAX_PAGES pages (what `sheets_to_pdf` takes back) is refused; Ghostscript
    stops at the page after it. The interpreter cannot be interrupted: GS_TIMEOUT_S is
    checked when it returns (the interpreter is then replaced). What bounds a render is
    that page cap, the %PDF- check and the PDF interpreter itself (no loops a document can
    drive); the centre only rasterises PDFs its own stages wrote from at most 100 pages.
    `page_count`, when the caller knows it, lets two interpreters share the pages.
    """
    if not pdf.startswith(b"%PDF-"):
        raise PdfError("not a PDF (no %PDF- header)")
    try:
        options = RasterOptions(dpi=dpi, last_page=MAX_PAGES + 1)
        rendered = rasterize(pdf, options, deadline_s=GS_TIMEOUT_S, page_count=page_count)
    except GhostscriptFailed as exc:
        if exc.timed_out:
            raise PdfError(str(exc)) from exc
        raise PdfError(f"Ghostscript failed: {exc.log.strip()[-300:] or exc}") from exc
    if not rendered.pages:
        raise PdfError(f"Ghostscript failed: no pages rendered: {rendered.log.strip()[-300:]}")
    if len(rendered.pages) > MAX_PAGES:
        raise PdfError(f"more than {MAX_PAGES} pages")
    return rendered.pages

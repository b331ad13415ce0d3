"""Ghostscript rendering: a PDF in, one 8-bit gray raster per page out (raw, never PNG).

libgs (through the `ghostscript` PyPI package) allows one interpreter instance per process,
so every call in a process is serialised by a module lock; a process pool gets one libgs per
worker and renders in parallel. Rendering goes to raw PGM files in a private temporary folder
(about 13 ms per A4 page at 300 dpi) and is read back into numpy arrays.
"""

from __future__ import annotations

import io
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import ghostscript
import numpy as np
import numpy.typing as npt
from pypdf import PdfReader

Raster = npt.NDArray[np.uint8]

_GS_LOCK = threading.Lock()

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

    @property
    def width_mm(self) -> float:
        return float(self.pixels.shape[1]) * 25.4 / self.dpi

    @property
    def height_mm(self) -> float:
        return float(self.pixels.shape[0]) * 25.4 / self.dpi


def read_pgm(data: bytes) -> Raster:
    """Parse a binary PGM (P5, maxval 255) as Ghostscript's pgmraw device writes it."""
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while pos < len(data) and data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while end < len(data) and not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P5" or fields[3] != b"255":
        raise RenderError("unexpected raster format from Ghostscript", "processing-to-stop-point")
    width, height = int(fields[1]), int(fields[2])
    pos += 1  # exactly one whitespace byte before the raster
    pixels = np.frombuffer(data, dtype=np.uint8, count=width * height, offset=pos)
    return pixels.reshape(height, width)


def write_pgm(path: Path, pixels: Raster) -> None:
    height, width = pixels.shape
    with path.open("wb") as fh:
        fh.write(f"P5\n{width} {height}\n255\n".encode())
        fh.write(np.ascontiguousarray(pixels).tobytes())


def _summary(log: str) -> str:
    """The line of a Ghostscript log that names the error (its stack dumps help nobody)."""
    for line in log.splitlines():
        if "Error" in line or "error" in line:
            return line.strip()[:200]
    return log.strip().splitlines()[0][:200] if log.strip() else "no message"


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


def _run_gs(args: list[str]) -> str:
    out = io.BytesIO()
    with _GS_LOCK:
        try:
            instance = ghostscript.Ghostscript("gs", *args, stdout=out, stderr=out)
            instance.exit()
        except ghostscript.GhostscriptError as exc:
            log = out.getvalue().decode("utf-8", "replace")
            raise RenderError(f"Ghostscript could not render it: {_summary(log)}") from exc
    return out.getvalue().decode("utf-8", "replace")


def render_pdf(pdf: bytes, dpi: int = 300) -> list[RenderedPage]:
    """Render every page of `pdf` at its own media size; raises RenderError if it is broken."""
    if not pdf.lstrip()[:5].startswith(b"%PDF-"):
        raise RenderError("not a PDF (no %PDF- header)", "unsupported-document-format")
    declared = _declared_pages(pdf)
    if declared is not None and declared > MAX_PAGES:
        raise RenderError(f"{declared} pages: more than {MAX_PAGES}", "document-unprintable-error")
    with tempfile.TemporaryDirectory(prefix="rig-gs-") as tmp:
        folder = Path(tmp)
        source = folder / "in.pdf"
        source.write_bytes(pdf)
        args = [
            "-q",
            "-dSAFER",
            "-dBATCH",
            "-dNOPAUSE",
            "-dPDFSTOPONERROR",
            "-dPDFSTOPONWARNING",
            "-dNOINTERPOLATE",
            f"-dLastPage={MAX_PAGES + 1}",
            "-sDEVICE=pgmraw",
            f"-r{dpi}",
            f"-sOutputFile={folder / 'p%05d.pgm'}",
            str(source),
        ]
        log = _run_gs(args)
        files = sorted(folder.glob("p*.pgm"))
        if not files:
            raise RenderError(f"no pages rendered: {_summary(log)}")
        if len(files) > MAX_PAGES:
            raise RenderError(f"more than {MAX_PAGES} pages", "document-unprintable-error")
        if "error" in log.lower():
            # gs repaired a damaged file; a certificate printed from a repaired file is suspect
            raise RenderError(f"damaged PDF: {_summary(log)}")
        return [
            RenderedPage(i + 1, dpi, read_pgm(path.read_bytes()).copy())
            for i, path in enumerate(files)
        ]

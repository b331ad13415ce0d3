"""Ghostscript rendering of one marked sheet: a fresh Ghostscript per call against the pooled
long-lived interpreters (rig.core.pdf_raster), for the printer and the centre.

- pdf_raster.printer_fresh_ms: the printer before, a new libgs instance for the job.
- pdf_raster.printer_pooled_ms: the printer now (`render_pdf`, long-lived interpreter).
- pdf_raster.centre_subprocess_ms: the centre before, one `gs` subprocess per document.
- pdf_raster.centre_pooled_ms: the centre now (`rasterize_pdf`).
- pdf_raster.interpreter_start_ms: starting one interpreter (what each render saves).
The sheet is one 300 dpi A4 page marked by the anti-forgery stage, front and back (2 pages).
Each figure is the median of several runs after a warm-up; the `fresh`/`subprocess`
functions are also the reference renderers of tests/test_pdf_raster.py.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

import ghostscript
import numpy as np
from numpy.typing import NDArray

from emulators.printer.render import MAX_PAGES, read_pgm, render_pdf
from rig.core.antiforgery import apply_marks, rasterize_pdf, sheets_to_pdf
from rig.core.antiforgery.specimen import certificate_page
from rig.core.pdf_raster import Interpreter, RasterOptions
from rig.harness.bench import Figure, median_ms

Pages = list[NDArray[np.uint8]]
_RUNS = 7


def printer_args(dpi: int, max_pages: int) -> list[str]:
    """The printer's Ghostscript options before the pooled interpreters (and still)."""
    return [
        "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dPDFSTOPONERROR", "-dPDFSTOPONWARNING",
        "-dNOINTERPOLATE", f"-dLastPage={max_pages + 1}", "-sDEVICE=pgmraw", f"-r{dpi}",
    ]  # fmt: skip


def _read(folder: Path) -> Pages:
    return [read_pgm(p.read_bytes()).copy() for p in sorted(folder.glob("p*.pgm"))]


def printer_fresh(pdf: bytes, dpi: int) -> Pages:
    """The printer before: a new libgs instance for each job (raises on a Ghostscript error)."""
    with tempfile.TemporaryDirectory(prefix="rig-bench-gs-") as tmp:
        folder = Path(tmp)
        (folder / "in.pdf").write_bytes(pdf)
        out = io.BytesIO()
        args = [
            *printer_args(dpi, MAX_PAGES),
            f"-sOutputFile={folder / 'p%05d.pgm'}",
            str(folder / "in.pdf"),
        ]
        ghostscript.Ghostscript("gs", *args, stdout=out, stderr=out).exit()
        return _read(folder)


def centre_subprocess(pdf: bytes, dpi: int) -> Pages:
    """The centre before: one `gs` subprocess per document (raises if it fails)."""
    with tempfile.TemporaryDirectory(prefix="rig-bench-gs-") as tmp:
        folder = Path(tmp)
        (folder / "in.pdf").write_bytes(pdf)
        cmd = [
            "gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pgmraw", f"-r{dpi}",
            f"-sOutputFile={folder / 'p%04d.pgm'}", str(folder / "in.pdf"),
        ]  # fmt: skip
        subprocess.run(cmd, capture_output=True, timeout=60, check=True)
        return _read(folder)


def marked_sheet_pdf() -> bytes:
    front, back = apply_marks(certificate_page(7), bytes(range(32)), "BENCH-1")
    return sheets_to_pdf([front, back])


def _start_ms() -> float:
    def start() -> None:
        with tempfile.TemporaryDirectory(prefix="rig-bench-gs-") as tmp:
            Interpreter(RasterOptions(), Path(tmp)).close()

    return median_ms(start, runs=5)


def measure() -> list[Figure]:
    pdf = marked_sheet_pdf()
    return [
        Figure(
            "pdf_raster.printer_fresh_ms", median_ms(lambda: printer_fresh(pdf, 300), _RUNS), "ms"
        ),
        Figure(
            "pdf_raster.printer_pooled_ms", median_ms(lambda: render_pdf(pdf, 300), _RUNS), "ms"
        ),
        Figure(
            "pdf_raster.centre_subprocess_ms",
            median_ms(lambda: centre_subprocess(pdf, 300), _RUNS),
            "ms",
        ),
        Figure("pdf_raster.centre_pooled_ms", median_ms(lambda: rasterize_pdf(pdf), _RUNS), "ms"),
        Figure("pdf_raster.interpreter_start_ms", _start_ms(), "ms"),
    ]

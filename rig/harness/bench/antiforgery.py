"""Anti-forgery speed: marking a page, and verifying a scanned sheet.

antiforgery_ms_per_page: `apply_marks` on one 300 dpi A4 page (front and back made).
antiforgery_pdf_ms_per_sheet: `sheets_to_pdf` for the two sides of one sheet.
antiforgery_document_ms: the centre's anti-forgery stage after rasterising, for a three-page
  A4 document: `apply_marks` on each page (A4 area) and `sheets_to_pdf` of its six sides.
*_cpu_ms: the same work's CPU time (the process's, every thread), which a loaded machine
  inflates less than the wall time and which the load campaign adds up.
verify_scan_ms: `read_back` + `compare` on 300 dpi scans of both sides (rotated, noisy).
inspect_side_ms: the copy checks on one side (けん制文字 contrast, model copy, latent viewer).
Each is the median of several runs after a warm-up (caches of the fixed layers filled).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from rig.core.antiforgery import apply_marks, compare, inspect_side, read_back, scan, sheets_to_pdf
from rig.core.antiforgery.specimen import certificate_page, certificate_page_a4
from rig.harness.bench import Figure, median_ms

_KEY = bytes(range(32))
_RUNS = 7


def _medians_ms(action: Callable[[], object], runs: int = _RUNS) -> tuple[float, float]:
    """Median wall time and median CPU time (ms) of `action`, after one warm-up run."""
    action()
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        times.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
    return statistics.median(times), statistics.median(cpu)


def _document(pages: list[NDArray[np.uint8]]) -> bytes:
    sides: list[NDArray[np.uint8]] = []
    for page in pages:
        sides += apply_marks(page, _KEY, "BENCH-DOC", paper="A4")
    return sheets_to_pdf(sides)


def measure() -> list[Figure]:
    page = certificate_page(7)
    front, back = apply_marks(page, _KEY, "BENCH-1")
    front_scan = scan(front, -0.8, (14, -9), noise=8.0, blur_px=0.5, seed=1)
    back_scan = scan(back, 1.1, (-12, 20), noise=8.0, blur_px=0.5, seed=2)
    marks_ms, marks_cpu = _medians_ms(lambda: apply_marks(page, _KEY, "BENCH-1"))
    pdf_ms, pdf_cpu = _medians_ms(lambda: sheets_to_pdf([front, back]))
    document = [certificate_page_a4(seed) for seed in range(3)]
    document_ms, document_cpu = _medians_ms(lambda: _document(document))
    return [
        Figure("antiforgery_ms_per_page", marks_ms, "ms"),
        Figure("antiforgery_cpu_ms_per_page", marks_cpu, "ms"),
        Figure("antiforgery_pdf_ms_per_sheet", pdf_ms, "ms"),
        Figure("antiforgery_pdf_cpu_ms_per_sheet", pdf_cpu, "ms"),
        Figure("antiforgery_document_ms", document_ms, "ms"),
        Figure("antiforgery_document_cpu_ms", document_cpu, "ms"),
        Figure(
            "verify_scan_ms",
            median_ms(lambda: compare(front_scan, read_back(back_scan, _KEY).image), _RUNS),
            "ms",
        ),
        Figure("inspect_side_ms", median_ms(lambda: inspect_side(front), _RUNS), "ms"),
    ]

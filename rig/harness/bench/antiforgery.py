"""Anti-forgery speed: marking a page, and verifying a scanned sheet.

antiforgery_ms_per_page: `apply_marks` on one 300 dpi A4 page (front and back made).
antiforgery_pdf_ms_per_sheet: `sheets_to_pdf` for the two sides of one sheet.
verify_scan_ms: `read_back` + `compare` on 300 dpi scans of both sides (rotated, noisy).
inspect_side_ms: the copy checks on one side (けん制文字 contrast, model copy, latent viewer).
Each is the median of several runs after a warm-up (caches of the fixed layers filled).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from rig.core.antiforgery import apply_marks, compare, inspect_side, read_back, scan, sheets_to_pdf
from rig.core.antiforgery.specimen import certificate_page
from rig.harness.bench import Figure

_KEY = bytes(range(32))
_RUNS = 7


def _median_ms(action: Callable[[], object], runs: int = _RUNS) -> float:
    action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def measure() -> list[Figure]:
    page = certificate_page(7)
    front, back = apply_marks(page, _KEY, "BENCH-1")
    front_scan = scan(front, -0.8, (14, -9), noise=8.0, blur_px=0.5, seed=1)
    back_scan = scan(back, 1.1, (-12, 20), noise=8.0, blur_px=0.5, seed=2)
    return [
        Figure(
            "antiforgery_ms_per_page",
            _median_ms(lambda: apply_marks(page, _KEY, "BENCH-1")),
            "ms",
        ),
        Figure(
            "antiforgery_pdf_ms_per_sheet",
            _median_ms(lambda: sheets_to_pdf([front, back])),
            "ms",
        ),
        Figure(
            "verify_scan_ms",
            _median_ms(lambda: compare(front_scan, read_back(back_scan, _KEY).image)),
            "ms",
        ),
        Figure("inspect_side_ms", _median_ms(lambda: inspect_side(front)), "ms"),
    ]

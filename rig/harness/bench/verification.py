"""Verification site speed: one upload to /api/verify over a real socket, per format."""

from __future__ import annotations

import io
from functools import partial

import httpx
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from emulators.verification import VerificationSite
from rig.core.antiforgery import apply_marks, rasterize_pdf, scan, sheets_to_pdf
from rig.core.antiforgery.specimen import certificate_page
from rig.harness.bench import Figure, median_ms

KEY = bytes(range(32))
ROUNDS = 5


def _encode(pixels: NDArray[np.uint8], fmt: str) -> bytes:
    out = io.BytesIO()
    image = Image.fromarray(pixels)
    if fmt == "PDF":
        image.save(out, format="PDF", resolution=300.0)
    else:
        image.save(out, format=fmt, dpi=(300, 300))
    return out.getvalue()


def _verify(http: httpx.Client, upload: bytes) -> None:
    http.post("/api/verify", content=upload).raise_for_status()


def measure() -> list[Figure]:
    front, back = apply_marks(certificate_page(0), KEY, "BENCH-1")
    _, captured = rasterize_pdf(sheets_to_pdf([front, back]))
    scanned = scan(captured, rotation_deg=1.0, offset_px=(10, 5), noise=4, blur_px=0.6)
    uploads = {fmt: _encode(scanned, fmt) for fmt in ("PNG", "JPEG", "PDF")}
    figures = []
    with VerificationSite(KEY) as site, httpx.Client(base_url=site.server.url, timeout=60) as http:
        for fmt, data in uploads.items():
            ms = median_ms(partial(_verify, http, data), ROUNDS)
            figures.append(Figure(f"verification_{fmt.lower()}_ms", ms, "ms"))
            figures.append(Figure(f"verification_{fmt.lower()}_upload_mb", len(data) / 1e6, "MB"))
    return figures

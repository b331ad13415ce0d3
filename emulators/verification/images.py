"""Uploaded files to 300 dpi A4 gray pages, the form `rig.core.antiforgery.read_back` reads.

- The format is taken from the file's first bytes (PNG, JPEG, PDF), never from its name or
  the declared content type: a browser may label a scan anything.
- PNG and JPEG: decoded with Pillow (truncated files are refused, not padded), colour and
  alpha flattened to gray on white paper, resampled to 300 dpi (resolution from the file's
  own dpi field, else inferred from the width of an A4 sheet), then laid on a white A4 page
  from its top-left corner (a scan of a slightly larger area is cropped, a smaller one padded).
- PDF: Ghostscript renders the first `MAX_PDF_PAGES` pages at 300 dpi gray onto A4, fitting
  a page of another size into A4; a scanner's PDF is usually one image per page.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from emulators.verification.problems import Problem
from rig.core.antiforgery import layout

A4_WIDTH_IN = 210.0 / 25.4
A4_PT = (595.276, 841.89)
#: Pixels of a decoded upload (a 600 dpi A4 scan is 34.8 million).
MAX_PIXELS = 40_000_000
MIN_SIDE = 64
#: The scramble modules are 2 px at 300 dpi: below about 240 dpi they are not resolved.
MIN_DPI = 240.0
MAX_DPI = 1200.0
STANDARD_DPI = (240.0, 300.0, 400.0, 600.0, 1200.0)
MAX_PDF_PAGES = 4
GS_TIMEOUT_S = 30.0

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class PageImage:
    """One candidate page: 300 dpi A4 gray pixels, and where it came from."""

    pixels: NDArray[np.uint8]
    page: int  # 1-based page number in the upload
    source_dpi: float


@dataclass(frozen=True)
class DecodedUpload:
    format: str  # "png", "jpeg" or "pdf"
    pages: tuple[PageImage, ...]
    width: int  # of the uploaded image (PDF: rendered page)
    height: int


def sniff(data: bytes) -> str:
    """'png', 'jpeg' or 'pdf' from the magic bytes, else `unsupported_format`."""
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    # PDF readers accept junk before the header (within the first 1 KiB)
    if PDF_MAGIC in data[:1024]:
        return "pdf"
    raise Problem("unsupported_format", "the file is not a PNG, JPEG or PDF (by its content)")


def decode_upload(data: bytes) -> DecodedUpload:
    kind = sniff(data)
    if kind == "pdf":
        pages = render_pdf(data)
        h, w = pages[0].pixels.shape
        return DecodedUpload("pdf", tuple(pages), w, h)
    return decode_raster(data, kind)


def decode_raster(data: bytes, kind: str) -> DecodedUpload:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=["PNG" if kind == "png" else "JPEG"])
            w, h = img.size
            _check_size(w, h)
            img.load()
    except Problem:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Problem("image_dimensions", str(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        # Pillow reports truncated or corrupt data as OSError/SyntaxError/ValueError
        raise Problem("corrupt_image", f"{kind.upper()} decoding failed: {exc}") from None
    dpi = _resolution(img, w)
    gray = _to_gray(img)
    page = _to_a4(gray, dpi)
    return DecodedUpload(kind, (PageImage(page, 1, dpi),), w, h)


def _check_size(w: int, h: int) -> None:
    if min(w, h) < MIN_SIDE:
        raise Problem("image_dimensions", f"{w}×{h} px is too small for a page scan")
    if w * h > MAX_PIXELS:
        raise Problem(
            "image_dimensions", f"{w}×{h} px is more than {MAX_PIXELS // 1_000_000} megapixels"
        )


def _resolution(img: Image.Image, width: int) -> float:
    """Scan resolution: the file's dpi field when plausible, else from the A4 width."""
    declared = img.info.get("dpi")
    dpi: float | None = None
    if isinstance(declared, tuple) and declared:
        try:
            value = float(declared[0])
        except (TypeError, ValueError):
            value = 0.0
        # trust it only if it makes the image about a sheet wide (many writers say 72 dpi
        # whatever the scan was)
        if 72.0 <= value <= MAX_DPI and 0.85 <= width / value / A4_WIDTH_IN <= 1.15:
            dpi = value
    if dpi is None:
        inferred = width / A4_WIDTH_IN
        # a scan of the whole glass is a little wider than A4: snap to a standard setting
        near = [d for d in STANDARD_DPI if abs(inferred / d - 1.0) <= 0.06]
        dpi = near[0] if near else inferred
    if dpi < MIN_DPI:
        raise Problem(
            "resolution_too_low", f"about {dpi:.0f} dpi; the back needs {MIN_DPI:.0f} dpi or more"
        )
    if dpi > MAX_DPI:
        raise Problem("image_dimensions", f"about {dpi:.0f} dpi is more than {MAX_DPI:.0f} dpi")
    return dpi


def _to_gray(img: Image.Image) -> NDArray[np.uint8]:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        wide = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or wide.max() > 255 else 255.0
        return np.asarray(np.clip(wide * (255.0 / top), 0, 255).round(), dtype=np.uint8)
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        # transparent pixels are paper
        paper = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(paper, img.convert("RGBA"))
    return np.asarray(img.convert("L"), dtype=np.uint8)


def _to_a4(gray: NDArray[np.uint8], dpi: float) -> NDArray[np.uint8]:
    scale = layout.DPI / dpi
    h, w = gray.shape
    if abs(scale - 1.0) > 0.002:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        resample = Image.Resampling.BOX if scale < 1.0 else Image.Resampling.BICUBIC
        gray = np.asarray(Image.fromarray(gray).resize(size, resample), dtype=np.uint8)
        h, w = gray.shape
    page = np.full(layout.PAGE_SHAPE, 255, dtype=np.uint8)
    ch, cw = min(h, layout.PAGE_H), min(w, layout.PAGE_W)
    page[:ch, :cw] = gray[:ch, :cw]
    return page


def render_pdf(data: bytes) -> list[PageImage]:
    """The first pages of a PDF at 300 dpi gray on A4 (Ghostscript, -dSAFER)."""
    gs = shutil.which("gs")
    if gs is None:  # a set-up fault of the site, not the user's
        raise RuntimeError("Ghostscript (gs) not found: Debian package ghostscript")
    with tempfile.TemporaryDirectory(prefix="rig-verify-gs-") as tmp:
        folder = Path(tmp)
        (folder / "in.pdf").write_bytes(data)
        cmd = [
            gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOINTERPOLATE",
            "-sDEVICE=pgmraw", f"-r{layout.DPI}", "-dFirstPage=1", f"-dLastPage={MAX_PDF_PAGES}",
            # fixed A4 media: a page of any other size is fitted, never rendered huge
            f"-dDEVICEWIDTHPOINTS={A4_PT[0]}", f"-dDEVICEHEIGHTPOINTS={A4_PT[1]}",
            "-dFIXEDMEDIA", "-dPDFFitPage",
            f"-sOutputFile={folder / 'p%04d.pgm'}", str(folder / "in.pdf"),
        ]  # fmt: skip
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                timeout=GS_TIMEOUT_S,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise Problem(
                "corrupt_pdf", f"Ghostscript took longer than {GS_TIMEOUT_S:.0f} s"
            ) from None
        files = sorted(folder.glob("p*.pgm"))
        log = (done.stdout + done.stderr).decode("utf-8", "replace")
        if not files:
            if done.returncode == 0 and "Error" not in log:
                raise Problem("pdf_no_pages", "the PDF has no pages")
            raise Problem("corrupt_pdf", _gs_reason(log, done.returncode))
        pages = []
        for number, path in enumerate(files, start=1):
            try:
                with Image.open(path) as img:
                    pixels = np.asarray(img.convert("L"), dtype=np.uint8)
            except (OSError, ValueError) as exc:
                raise Problem("corrupt_pdf", f"page {number} did not render: {exc}") from None
            if pixels.shape != layout.PAGE_SHAPE:
                pixels = _to_a4(pixels, layout.DPI)
            pages.append(PageImage(pixels, number, float(layout.DPI)))
        return pages


def _gs_reason(log: str, code: int) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    first = next((line for line in lines if "Error" in line), lines[0] if lines else "")
    status = f" (exit {code})" if code else ""
    return f"Ghostscript could not read it{status}: {first[:200]}"

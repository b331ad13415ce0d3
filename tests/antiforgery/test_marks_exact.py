"""The faster marking and PDF writing give exactly the sheets the first versions gave.

`apply_marks` was made cheaper (fixed layers made once, integer module sums, no page-size
temporaries, the "auto" area told without a page-size mask) and `sheets_to_pdf` moved from
zlib to ISA-L; a printed sheet must not change by one gray level, or sheets printed before
could not be compared with sheets printed after. Two pins: SHA-256 digests of the output on
fixed synthetic pages, computed with the code before the change (they also move if the fonts
of the marks change, which would be a change of the marks themselves), and the old algorithm
kept here, compared on random pages.
"""

from __future__ import annotations

import hashlib
import io
import re
import zlib

import numpy as np
import pypdfium2 as pdfium
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from pypdf import PdfReader

from rig.core.antiforgery import apply_marks, fixed_marks, layout, scramble, sheets_to_pdf
from rig.core.antiforgery.kensei import Side, pattern_layer
from rig.core.antiforgery.latent import emblem_layer
from rig.core.antiforgery.layout import AREA_A4, AREA_A5, AREAS, ContentArea
from rig.core.antiforgery.marks import Paper, _header_layer, area_for
from rig.core.antiforgery.registration import fiducial_layer
from tests.antiforgery.helpers import KEY, fuzz_examples


def _synthetic(seed: int) -> NDArray[np.uint8]:
    """A page of every gray level in a deterministic texture (no RNG, no fonts)."""
    y, x = np.indices(layout.PAGE_SHAPE, dtype=np.int64)
    return ((x * (7 + seed) + y * 13 + (x * y) // (5 + seed)) % 256).astype(np.uint8)


#: (page, paper, document id) → SHA-256 of the front and of the back, made before the speed-up.
_DIGESTS = {
    ("synthetic-0", "A5", "PIN-0"): (
        "488b5bfda5e5d423aa87d61a77a6dfe02f24c09675d0c2b8f6974eb73374de46",
        "27fff5b0d31f89973d9f566c29ba8ed8e7246d1332100e2beee23d0e1d2c24a8",
    ),
    ("synthetic-1", "A4", "PIN-1"): (
        "e6630176ab1affc12e4df18c4821474676d925a69c32582dc2ea774c67a75396",
        "3ce58b097af5882dd3e67a19fef51dee57e6ac983db0fff4454d9e19377fd805",
    ),
    ("synthetic-2", "auto", "PIN-2"): (
        "1b329e0ef1c8b910162328e39b26bcb0cd842e5e95de2bee5b1e71166afa3fc1",
        "dacb75935df76548c91517aef25846b37e89307dee2b71fb1f6b7217de9035cc",
    ),
    ("white", "auto", "PIN-white"): (
        "aa9daeb94dcad0fa8f44284cf42303c7ce35982e07a55229d21576c61c6f4d8f",
        "e6b6548f817638661453097a8853a51d91cf9931deee01628124db779385b939",
    ),
    ("black", "A4", "PIN-black"): (
        "9ccdc3fb9aa72186f6d6e8f9b2da22c9728c90c1e3a2979b1d9e30bfaf93d3bd",
        "211216fbaa5572d7a639df96905d860a46ed332086dcfbcd1bb5d89c521cf446",
    ),
}


def _page(name: str) -> NDArray[np.uint8]:
    if name == "white":
        return np.full(layout.PAGE_SHAPE, 255, dtype=np.uint8)
    if name == "black":
        return np.zeros(layout.PAGE_SHAPE, dtype=np.uint8)
    return _synthetic(int(name.rsplit("-", 1)[1]))


@pytest.mark.parametrize(("name", "paper", "document_id"), list(_DIGESTS))
def test_sheets_are_those_printed_before(name: str, paper: Paper, document_id: str) -> None:
    front, back = apply_marks(_page(name), KEY, document_id, paper=paper)
    got = (hashlib.sha256(front.tobytes()).hexdigest(), hashlib.sha256(back.tobytes()).hexdigest())
    assert got == _DIGESTS[(name, paper, document_id)]


# The algorithm as it was before the speed-up, kept to compare with on any page.


def _old_fixed_marks(side: Side) -> NDArray[np.uint8]:
    return np.minimum(np.minimum(emblem_layer(), fiducial_layer()), pattern_layer(side))


def _old_sample_front(page: NDArray[np.uint8], area: ContentArea) -> NDArray[np.float32]:
    c, m = area.front, area.module_px
    box = page[c.y : c.y1, c.x : c.x1].astype(np.float32)
    grid = box.reshape(area.modules_h, m, area.modules_w, m)
    return np.asarray(grid.mean(axis=(1, 3)), dtype=np.float32)


def _old_area_for(page: NDArray[np.uint8]) -> ContentArea:
    c = layout.CONTENT
    inside = page[c.y : c.y1, c.x : c.x1]
    dark_total = int(np.count_nonzero(page < 250))
    return AREA_A4 if dark_total > int(np.count_nonzero(inside < 250)) else AREA_A5


def _old_apply_marks(
    page: NDArray[np.uint8], key: bytes, document_id: str, paper: Paper
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    area = _old_area_for(page) if paper == "auto" else AREAS[paper]
    front = np.minimum(page, _old_fixed_marks("front"))
    nonce = scramble.nonce_for(key, document_id)
    printed = scramble.scramble(_old_sample_front(page, area), key, nonce, area)
    back = _old_fixed_marks("back")
    cells = np.clip(np.rint(printed), 0, 255).astype(np.uint8)
    m, b = layout.BACK_MODULE_PX, area.back
    back[b.y : b.y1, b.x : b.x1] = np.repeat(np.repeat(cells, m, axis=0), m, axis=1)
    h = layout.HEADER
    back[h.y : h.y1, h.x : h.x1] = _header_layer(scramble.header_bits(key, nonce, area))
    return front, back


def _random_page(seed: int, levels: int) -> NDArray[np.uint8]:
    """Random pixels; with few `levels` most module sums tie when halved (rounding check)."""
    rng = np.random.default_rng(seed)
    palette = np.array([0, 1, 2, 3, 127, 128, 253, 254, 255], dtype=np.uint8)
    if levels >= 256:
        return rng.integers(0, 256, layout.PAGE_SHAPE, dtype=np.uint8)
    return palette[rng.integers(0, min(levels, palette.size), layout.PAGE_SHAPE)]


@pytest.mark.fuzz
@settings(
    max_examples=fuzz_examples(6),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    levels=st.sampled_from([2, 4, 9, 256]),
    paper=st.sampled_from(["A5", "A4", "auto"]),
)
def test_marks_equal_the_old_algorithm_on_random_pages(
    seed: int, levels: int, paper: Paper
) -> None:
    page = _random_page(seed, levels)
    document_id = f"RANDOM-{seed}"
    front, back = apply_marks(page, KEY, document_id, paper=paper)
    old_front, old_back = _old_apply_marks(page, KEY, document_id, paper)
    assert np.array_equal(front, old_front)
    assert np.array_equal(back, old_back)


@pytest.mark.parametrize("area", [AREA_A5, AREA_A4], ids=["A5", "A4"])
@pytest.mark.parametrize("levels", [2, 9, 256])
def test_module_means_are_the_float_means_bit_for_bit(area: ContentArea, levels: int) -> None:
    page = _random_page(levels, levels)
    got, want = scramble.sample_front(page, area), _old_sample_front(page, area)
    assert got.dtype == want.dtype == np.float32
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
    if area is AREA_A5 and levels == 2:
        # The case that needs rounding right: half-way means (sums of 2 mod 4) are there.
        assert np.any(got % 1.0 == 0.5)


def test_fixed_marks_are_shared_read_only_and_never_drawn_on() -> None:
    before = {side: fixed_marks(side).copy() for side in ("front", "back")}
    for side in ("front", "back"):
        layer = fixed_marks(side)
        assert layer is fixed_marks(side)
        assert not layer.flags.writeable
        assert np.array_equal(layer, _old_fixed_marks(side))
    front, back = apply_marks(_synthetic(0), KEY, "PIN-0", paper="A5")
    assert front.flags.writeable and back.flags.writeable
    assert not np.shares_memory(back, fixed_marks("back"))
    for side in ("front", "back"):
        assert np.array_equal(fixed_marks(side), before[side])


_IMAGE_STREAM = re.compile(rb"/Subtype /Image [^>]*/Filter /FlateDecode /Length (\d+) >>\nstream\n")


def _image_streams(pdf: bytes) -> list[bytes]:
    """The raw (still deflated) image streams of a PDF `sheets_to_pdf` wrote, in page order."""
    return [pdf[m.end() : m.end() + int(m.group(1))] for m in _IMAGE_STREAM.finditer(pdf)]


def test_every_pdf_reader_inflates_the_exact_pixels() -> None:
    pages = [_synthetic(0), _random_page(1, 256), np.zeros(layout.PAGE_SHAPE, dtype=np.uint8)]
    pdf = sheets_to_pdf(pages)
    # The raw streams, inflated by zlib itself.
    streams = _image_streams(pdf)
    assert len(streams) == len(pages)
    for stream, want in zip(streams, pages, strict=True):
        assert zlib.decompress(stream) == want.tobytes()
    # pypdf's image decoding.
    reader = PdfReader(io.BytesIO(pdf))
    for page, want in zip(reader.pages, pages, strict=True):
        image = page.images[0].image
        assert image is not None and image.mode == "L"
        assert np.array_equal(np.asarray(image), want)
    # PDFium's image decoding (Ghostscript is checked in test_pdf_pipeline).
    document = pdfium.PdfDocument(pdf)
    try:
        for index, want in enumerate(pages):
            (image,) = document[index].get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE])
            assert bytes(image.get_data(decode_simple=True)) == want.tobytes()
    finally:
        document.close()


_C = layout.CONTENT


@pytest.mark.parametrize(
    ("x", "y", "level"),
    [
        (_C.x, _C.y, 0),  # inside, at each corner of the A5 box
        (_C.x1 - 1, _C.y1 - 1, 0),
        (_C.x - 1, _C.y, 0),  # just outside, on each side
        (_C.x1, _C.y1 - 1, 0),
        (_C.x, _C.y - 1, 0),
        (_C.x1 - 1, _C.y1, 0),
        (0, 0, 249),  # the page's corners, just dark enough and just too light
        (layout.PAGE_W - 1, layout.PAGE_H - 1, 249),
        (0, layout.PAGE_H - 1, 250),
    ],
)
def test_auto_area_decides_as_before_at_the_box_edges(x: int, y: int, level: int) -> None:
    page = np.full(layout.PAGE_SHAPE, 255, dtype=np.uint8)
    page[y, x] = level
    assert area_for(page, "auto") is _old_area_for(page)
    outside = not (_C.x <= x < _C.x1 and _C.y <= y < _C.y1)
    assert area_for(page, "auto") is (AREA_A4 if outside and level < 250 else AREA_A5)

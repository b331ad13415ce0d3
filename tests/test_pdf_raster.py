"""The long-lived Ghostscript (rig.core.pdf_raster) against a fresh Ghostscript per call.

The reference renderers (rig.harness.bench.pdf_raster) are the code the printer and the
centre ran before: a new libgs instance per job (printer) and a `gs` subprocess per document
(centre). The pooled interpreters must give the same pixels, the same documented errors, and
replace an interpreter after any failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from emulators.printer.render import MAX_PAGES as PRINTER_MAX_PAGES
from emulators.printer.render import RenderError, render_pdf
from emulators.printer.samples import make_pdf
from rig.core import pdf_raster
from rig.core.antiforgery import PdfError, layout, rasterize_pdf, sheets_to_pdf
from rig.core.antiforgery import pdf as antiforgery_pdf
from rig.core.antiforgery.pdf import pdf_file
from rig.core.pdf_raster import GhostscriptFailed, RasterOptions, interpreters_started, rasterize
from rig.harness.bench.pdf_raster import centre_subprocess, printer_fresh
from rig.harness.fuzz import examples

Pages = list[NDArray[np.uint8]]


def _same(got: Pages, want: Pages) -> bool:
    return len(got) == len(want) and all(
        g.shape == w.shape and np.array_equal(g, w) for g, w in zip(got, want, strict=True)
    )


def hand_pdf(contents: list[bytes]) -> bytes:
    """A small PDF whose page content streams are given whole (with their dictionaries)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(len(contents)))
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(contents)))
    for i, content in enumerate(contents):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents %d 0 R >>"
            % (4 + 2 * i)
        )
        objects.append(content)
    return pdf_file(objects)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n%s\nendstream" % (len(data), extra, data)


LINE = stream(b"0 0 m 150 180 l 10 w S")
LINE_PDF = hand_pdf([LINE])
#: page 1 renders, page 2's compressed content is not Flate: Ghostscript fails mid-file
FAILS_ON_PAGE_2 = hand_pdf([LINE, stream(b"not zlib data at all", b"/Filter /FlateDecode ")])


@pytest.fixture(scope="module")
def marked_sheet_pdf() -> bytes:
    """One A4 sheet (front and back) of 300 dpi gray images, noise on the back: every
    image pixel must land on exactly one device pixel."""
    rng = np.random.default_rng(7)
    front = np.full(layout.PAGE_SHAPE, 255, dtype=np.uint8)
    front[400:900, 300:2000] = np.arange(1700, dtype=np.uint32)[None, :] % 256
    back = rng.integers(0, 256, layout.PAGE_SHAPE, dtype=np.uint8)
    return sheets_to_pdf([front, back])


@pytest.mark.parametrize(
    "document",
    [
        make_pdf(2),
        make_pdf(1, a5_content=True, offset_mm=(4.0, -3.0)),
        make_pdf(2, page_size="letter", blank_pages=frozenset({2})),
        hand_pdf([LINE, LINE]),
    ],
    ids=["a4-2-pages", "a5-content", "letter-blank", "hand-made"],
)
def test_pooled_pages_equal_a_fresh_ghostscript_per_call(document: bytes) -> None:
    assert _same([p.pixels for p in render_pdf(document, 150)], printer_fresh(document, 150))
    assert _same(rasterize_pdf(document, 150), centre_subprocess(document, 150))


def test_marked_sheet_maps_image_pixels_one_to_one_both_ways(marked_sheet_pdf: bytes) -> None:
    pooled = rasterize_pdf(marked_sheet_pdf)
    assert _same(pooled, centre_subprocess(marked_sheet_pdf, layout.DPI))
    assert _same([p.pixels for p in render_pdf(marked_sheet_pdf, layout.DPI)], pooled)
    assert [p.shape for p in pooled] == [layout.PAGE_SHAPE, layout.PAGE_SHAPE]


def test_pages_after_last_page_are_not_rendered_on_a_reused_interpreter() -> None:
    options = RasterOptions(dpi=10, last_page=3)
    assert [len(rasterize(make_pdf(n), options).pages) for n in (5, 2, 4)] == [3, 2, 3]


def test_interpreters_are_reused_between_documents() -> None:
    render_pdf(make_pdf(1), 40)
    before = interpreters_started()
    for _ in range(3):
        render_pdf(make_pdf(1), 40)
    assert interpreters_started() == before


def test_an_error_mid_file_replaces_the_interpreter_and_the_next_document_renders() -> None:
    good = make_pdf(2)
    render_pdf(good, 60)
    before = interpreters_started()
    with pytest.raises(RenderError, match="could not render") as info:
        render_pdf(FAILS_ON_PAGE_2, 60)
    assert info.value.reason == "document-format-error"
    after_error = [p.pixels for p in render_pdf(good, 60)]
    assert interpreters_started() == before + 1  # a fresh interpreter, not the failed one
    assert _same(after_error, printer_fresh(good, 60))


def test_the_centre_keeps_a_repaired_mid_file_error_as_before() -> None:
    # without -dPDFSTOPONERROR Ghostscript draws what it can, as the `gs` command did
    assert _same(rasterize_pdf(FAILS_ON_PAGE_2, 60), centre_subprocess(FAILS_ON_PAGE_2, 60))


@pytest.mark.parametrize(
    ("document", "reason", "message"),
    [
        (b"hello, not a pdf", "unsupported-document-format", "not a PDF"),
        (make_pdf(1)[:300], "document-format-error", "could not render"),
        (b"%PDF-1.4\n1 0 obj << garbage", "document-format-error", "syntaxerror"),
        (make_pdf(PRINTER_MAX_PAGES + 1), "document-unprintable-error", "more than"),
    ],
    ids=["not-pdf", "truncated", "garbage", "too-many-pages"],
)
def test_printer_errors_are_unchanged_and_leave_a_working_renderer(
    document: bytes, reason: str, message: str
) -> None:
    with pytest.raises(RenderError, match=message) as info:
        render_pdf(document, 40)
    assert info.value.reason == reason
    assert [p.number for p in render_pdf(make_pdf(2), 40)] == [1, 2]


def test_centre_errors_are_unchanged_and_leave_a_working_renderer() -> None:
    with pytest.raises(PdfError, match="not a PDF"):
        rasterize_pdf(b"hello")
    with pytest.raises(PdfError, match="Ghostscript failed"):
        rasterize_pdf(b"%PDF-1.4\nthis is not really a pdf\n", 40)
    with pytest.raises(PdfError, match="more than 200 pages"):
        rasterize_pdf(make_pdf(antiforgery_pdf.MAX_PAGES + 1), 4)
    assert len(rasterize_pdf(make_pdf(2), 40)) == 2


def test_a_render_over_its_deadline_is_an_error_and_replaces_the_interpreter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = RasterOptions(dpi=30)
    rasterize(make_pdf(1), options)
    before = interpreters_started()
    with pytest.raises(GhostscriptFailed) as info:
        rasterize(make_pdf(1), options, deadline_s=0.0)
    assert info.value.timed_out
    rasterize(make_pdf(1), options)
    assert interpreters_started() == before + 1
    monkeypatch.setattr(antiforgery_pdf, "GS_TIMEOUT_S", 0.0)
    with pytest.raises(PdfError, match="took longer than 0 s"):
        rasterize_pdf(make_pdf(1), 30)


def test_a_document_cannot_write_outside_the_private_folder(tmp_path: Path) -> None:
    # /OutputFile is the pooled code's own PostScript; a document runs as PDF only, so
    # PostScript behind a PDF header is a syntax error, never executed
    target = tmp_path / "escaped.txt"
    sneaky = b"%PDF-1.4\n(" + str(target).encode() + b") (w) file (x) writestring\n"
    with pytest.raises(RenderError, match="could not render"):
        render_pdf(sneaky, 40)
    assert not target.exists()


def test_option_sets_render_at_once_from_threads() -> None:
    jobs = [(make_pdf(n), dpi) for n in (1, 2, 3) for dpi in (30, 45)]

    def pages(job: tuple[bytes, int]) -> list[tuple[int, int]]:
        return [p.pixels.shape for p in render_pdf(*job)] + [a.shape for a in rasterize_pdf(*job)]

    with ThreadPoolExecutor(4) as threads:
        got = list(threads.map(pages, jobs))
    for (pdf, dpi), shapes in zip(jobs, got, strict=True):
        want = [a.shape for a in centre_subprocess(pdf, dpi)]
        assert shapes == want + want


def _render_in_child(pdf: bytes) -> tuple[int, int, int, Path | None]:
    started_here = interpreters_started()
    pages = len(render_pdf(pdf, 30))
    return os.getpid(), started_here, pages, pdf_raster._pool().root


def test_a_forked_process_starts_its_own_interpreter_and_cleans_up() -> None:
    render_pdf(make_pdf(1), 30)  # this process now holds an interpreter
    ours = pdf_raster._pool().root
    with ProcessPoolExecutor(1, mp_context=get_context("fork")) as pool:
        child = pool.submit(_render_in_child, make_pdf(2)).result(timeout=120)
    pid, inherited, pages, folder = child
    assert pid != os.getpid() and inherited == 0 and pages == 2
    assert folder is not None and folder != ours
    assert not folder.exists()  # the worker's exit (os._exit, no atexit) removed it
    assert len(render_pdf(make_pdf(1), 30)) == 1  # the parent's interpreter still works
    assert ours is not None and ours.exists()


def test_the_private_folder_is_gone_when_the_process_exits() -> None:
    program = (
        "from rig.core import pdf_raster\n"
        "from emulators.printer.samples import make_pdf\n"
        "pdf_raster.rasterize(make_pdf(1), pdf_raster.RasterOptions(dpi=20))\n"
        "print(pdf_raster._pool().root)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True
    )
    folder = Path(done.stdout.strip())
    assert folder.name.startswith("rig-gs-")
    assert not folder.exists()


def test_a_plain_fork_that_exits_leaves_the_parents_interpreters_alone() -> None:
    # the child inherits the parent's exit hooks (atexit, multiprocessing's finalizers)
    program = (
        "import os, sys\n"
        "from rig.core import pdf_raster\n"
        "from emulators.printer.samples import make_pdf\n"
        "options = pdf_raster.RasterOptions(dpi=20)\n"
        "pdf_raster.rasterize(make_pdf(1), options)\n"
        "root = pdf_raster._pool().root\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    sys.exit(0)\n"
        "os.waitpid(child, 0)\n"
        "assert root is not None and root.is_dir() and any(root.iterdir())\n"
        "pdf_raster.rasterize(make_pdf(2), options)\n"
        "print(pdf_raster.interpreters_started())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() == "1"  # the same interpreter served both documents


@settings(max_examples=examples(20))
@given(st.binary(max_size=300))
def test_any_bytes_after_a_pdf_header_give_a_documented_answer(tail: bytes) -> None:
    try:
        pages = render_pdf(b"%PDF-1.4\n" + tail, 20)
    except RenderError as exc:
        assert exc.reason in {"document-format-error", "document-unprintable-error"}
    else:
        assert 1 <= len(pages) <= PRINTER_MAX_PAGES
    assert len(pdf_raster.rasterize(LINE_PDF, RasterOptions(dpi=20)).pages) == 1


@pytest.mark.parametrize("declared", [5, 2, 9], ids=["right", "too-few", "too-many"])
def test_two_halves_give_exactly_the_pages_of_one_render(declared: int) -> None:
    """A declared page count lets two interpreters share the pages; whatever it says, the
    pages are those of one whole render, in order (a wrong count costs speed, not pages)."""
    document = make_pdf(5, blank_pages=frozenset({3}))
    options = RasterOptions(dpi=40, stop_on_error=True, last_page=50)
    whole = rasterize(document, options).pages
    assert len(whole) == 5
    assert _same(rasterize(document, options, page_count=declared).pages, whole)


def test_two_halves_of_marked_sheets_keep_every_pixel(marked_sheet_pdf: bytes) -> None:
    options = RasterOptions(dpi=layout.DPI, no_interpolate=True)
    whole = rasterize(marked_sheet_pdf, options).pages
    halves = rasterize(marked_sheet_pdf, options, page_count=2).pages
    assert _same(halves, whole) and len(halves) == 2


def test_a_document_is_shared_only_with_an_interpreter_free_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A caller that holds one interpreter never waits for a second (callers holding one
    each and waiting for another would hold them all); with none free it renders alone."""
    halves: list[int] = []
    real = pdf_raster._in_two_halves

    def spy(*args: object) -> pdf_raster.Rendered:
        halves.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(pdf_raster, "_in_two_halves", spy)
    document = make_pdf(4)
    options = RasterOptions(dpi=30)
    assert len(rasterize(document, options, page_count=4).pages) == 4
    assert halves == [1]
    pool = pdf_raster._pool()
    held = [pool.acquire(options) for _ in range(pdf_raster.MAX_INTERPRETERS - 1)]
    try:
        assert len(rasterize(document, options, page_count=4).pages) == 4
        assert halves == [1], "split although no second interpreter was free"
    finally:
        for interp in held:
            pool.release(interp, reusable=True)


def test_an_error_in_the_second_half_is_the_callers_and_replaces_that_interpreter() -> None:
    options = RasterOptions(dpi=30, stop_on_error=True)
    with pytest.raises(GhostscriptFailed):
        rasterize(FAILS_ON_PAGE_2, options, page_count=2)
    assert len(rasterize(hand_pdf([LINE, LINE]), options, page_count=2).pages) == 2

"""Pairing pages into sheets, and what is measured on each side (A4, blank, A5 centring)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emulators.printer import VirtualPrinter
from emulators.printer.render import RenderError, read_pgm, render_pdf, write_pgm
from emulators.printer.samples import make_pdf
from emulators.printer.sheets import measure
from rig.core.drivers.ipp_client import IppClient
from rig.core.protocols.ipp import JobState


def test_render_gives_one_a4_raster_per_page_at_300_dpi() -> None:
    pages = render_pdf(make_pdf(2), 300)
    assert [p.number for p in pages] == [1, 2]
    assert pages[0].pixels.shape == (3508, 2480)
    assert pages[0].pixels.dtype == np.uint8
    size = measure(pages[0].pixels, pages[0].dpi)
    assert abs(size.width_mm - 210) < 0.2 and abs(size.height_mm - 297) < 0.2


def test_pgm_round_trip(tmp_path: Path) -> None:
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_pgm(tmp_path / "x.pgm", pixels)
    assert np.array_equal(read_pgm((tmp_path / "x.pgm").read_bytes()), pixels)


@pytest.mark.parametrize(
    ("document", "reason", "message"),
    [
        (b"hello, not a pdf", "unsupported-document-format", "not a PDF"),
        (make_pdf(1)[:300], "document-format-error", "could not render"),
        (b"%PDF-1.4\n1 0 obj << garbage", "document-format-error", "syntaxerror"),
    ],
)
def test_broken_documents_raise_render_error(document: bytes, reason: str, message: str) -> None:
    with pytest.raises(RenderError, match=message) as info:
        render_pdf(document, 300)
    assert info.value.reason == reason


def test_blank_side_and_full_page_content() -> None:
    blank, full = render_pdf(make_pdf(2, blank_pages=frozenset({1})), 300)
    assert measure(blank.pixels, 300).blank
    m = measure(full.pixels, 300)
    assert not m.blank and m.is_a4
    assert not m.content_fits_a5  # the frame spans 180 x 267 mm


def test_a5_content_centred_on_a4_is_measured_centred() -> None:
    (page,) = render_pdf(make_pdf(1, a5_content=True), 300)
    m = measure(page.pixels, 300)
    assert m.is_a4 and m.content_fits_a5 and m.content_centred
    assert m.ink_box_mm is not None
    # the frame sits 31 mm from the left and 43.5 mm from the top of the A4 sheet
    assert m.ink_box_mm.left == pytest.approx(31.0, abs=0.5)
    assert m.ink_box_mm.top == pytest.approx(43.5, abs=0.5)
    assert m.centre_offset_mm is not None
    assert max(abs(v) for v in m.centre_offset_mm) < 0.3


def test_a5_content_off_centre_is_caught_with_its_offset() -> None:
    (page,) = render_pdf(make_pdf(1, a5_content=True, offset_mm=(-31.0, -43.5)), 300)
    m = measure(page.pixels, 300)
    assert m.content_fits_a5 and not m.content_centred
    assert m.centre_offset_mm is not None
    dx, dy = m.centre_offset_mm
    assert dx == pytest.approx(-31.0, abs=0.5) and dy == pytest.approx(-43.5, abs=0.5)


def test_a5_page_is_not_a4() -> None:
    (page,) = render_pdf(make_pdf(1, page_size="a5"), 300)
    m = measure(page.pixels, 300)
    assert not m.is_a4
    assert (round(m.width_mm), round(m.height_mm)) == (148, 210)


def _print(client: IppClient, pdf: bytes, sides: str) -> int:
    job = client.print_job(pdf, sides=sides)
    done = client.wait_for_job(job.job_id, timeout=30)
    assert done.state == JobState.COMPLETED, done
    return job.job_id


def test_duplex_pairs_pages_2n_minus_1_and_2n(printer: VirtualPrinter, client: IppClient) -> None:
    _print(client, make_pdf(5), "two-sided-long-edge")
    sheets = printer.take_sheets()
    assert [(s.front.page_number, s.back.page_number if s.back else None) for s in sheets] == [
        (1, 2),
        (3, 4),
        (5, None),
    ]
    assert [s.number for s in sheets] == [1, 2, 3]
    assert all(s.checks["size_ok"] for s in sheets)
    assert sheets[2].checks["back_blank"] and not sheets[0].checks["back_blank"]
    info = client.get_job(sheets[0].job_id)
    assert info.attributes["konbini-job-pages"] == 5
    assert info.attributes["job-media-sheets-completed"] == 3
    assert info.attributes["job-impressions-completed"] == 5


def test_one_sided_puts_each_page_on_its_own_sheet(
    printer: VirtualPrinter, client: IppClient
) -> None:
    _print(client, make_pdf(3), "one-sided")
    sheets = printer.take_sheets()
    assert [(s.front.page_number, s.back) for s in sheets] == [(1, None), (2, None), (3, None)]


def test_a5_sheets_report_centring_in_their_checks(
    printer: VirtualPrinter, client: IppClient
) -> None:
    _print(client, make_pdf(2, a5_content=True), "two-sided-long-edge")
    _print(client, make_pdf(1, a5_content=True, offset_mm=(10, 0)), "one-sided")
    good, bad = printer.take_sheets()
    assert good.checks["a5_content_centred"] is True
    assert bad.checks["a5_content_centred"] is False
    assert bad.front.measure.centre_offset_mm is not None
    assert bad.front.measure.centre_offset_mm[0] == pytest.approx(10.0, abs=0.5)


def test_sheet_evidence_and_captures_are_recorded(
    printer: VirtualPrinter, client: IppClient
) -> None:
    _print(client, make_pdf(2), "two-sided-long-edge")
    records = list(printer.certificate.evidence.records("printer-print"))  # type: ignore[union-attr]
    sheet_records = [r for r in records if r["event"] == "sheet"]
    assert len(sheet_records) == 1
    assert sheet_records[0]["front"]["is_a4"] is True
    assert any(r["event"] == "ipp" and r["operation"] == "print-job" for r in records)
    (sheet,) = printer.take_sheets()
    assert sheet.front.path is not None and sheet.front.path.exists()
    assert np.array_equal(read_pgm(sheet.front.path.read_bytes()), sheet.front.pixels)


def _pages_in(pdf: bytes) -> list[int]:
    return [page.number for page in render_pdf(pdf, 50)]


def test_render_is_safe_from_threads_and_a_process_pool() -> None:
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
    from multiprocessing import get_context

    docs = [make_pdf(n) for n in (1, 2, 3, 4)]
    with ThreadPoolExecutor(4) as threads:
        assert list(threads.map(_pages_in, docs)) == [[1], [1, 2], [1, 2, 3], [1, 2, 3, 4]]
    # one libgs per worker process: both workers render at once
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        assert list(pool.map(_pages_in, docs)) == [[1], [1, 2], [1, 2, 3], [1, 2, 3, 4]]


def test_documents_over_the_page_cap_are_refused_before_rendering() -> None:
    from emulators.printer.render import MAX_PAGES

    with pytest.raises(RenderError, match="more than") as info:
        render_pdf(make_pdf(MAX_PAGES + 1), 300)
    assert info.value.reason == "document-unprintable-error"

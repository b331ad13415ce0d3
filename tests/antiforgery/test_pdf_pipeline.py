"""Through the real pipeline: marks → PDF → Ghostscript at 300 dpi gray → all marks intact."""

from __future__ import annotations

import io

import numpy as np
import pytest
from pypdf import PdfReader

from rig.core.antiforgery import (
    PageFormatError,
    PdfError,
    inspect_sheet,
    rasterize_pdf,
    read_back,
    sheets_to_pdf,
)
from tests.antiforgery.helpers import KEY, Sheet


@pytest.fixture(scope="module")
def printed(sheet: Sheet, other_sheet: Sheet) -> list[np.ndarray]:
    pdf = sheets_to_pdf([sheet.front, sheet.back, other_sheet.front, other_sheet.back])
    return rasterize_pdf(pdf)


def test_pdf_is_a4_with_one_gray_image_per_page(sheet: Sheet) -> None:
    reader = PdfReader(io.BytesIO(sheets_to_pdf([sheet.front, sheet.back])))
    assert len(reader.pages) == 2
    for page in reader.pages:
        assert [round(float(v), 2) for v in page.mediabox] == [0, 0, 595.28, 841.89]
        (image,) = page.images
        assert image.image is not None
        assert image.image.mode == "L" and image.image.size == (2480, 3508)


def test_ghostscript_gives_back_the_same_pixels(
    sheet: Sheet, other_sheet: Sheet, printed: list[np.ndarray]
) -> None:
    assert len(printed) == 4
    for got, want in zip(
        printed, [sheet.front, sheet.back, other_sheet.front, other_sheet.back], strict=True
    ):
        assert got.shape == want.shape == (3508, 2480)
        # Geometry is exact; Ghostscript's gray conversion may round a level either way.
        assert int(np.abs(got.astype(np.int16) - want).max()) <= 1


def test_printed_sheets_carry_all_marks_and_decode(
    sheet: Sheet, other_sheet: Sheet, printed: list[np.ndarray]
) -> None:
    for (front, back), made in zip(
        [(printed[0], printed[1]), (printed[2], printed[3])], [sheet, other_sheet], strict=True
    ):
        report = inspect_sheet(front, back, KEY)
        assert report.front.all_marks and report.back.all_marks
        assert report.back_decoded and report.back_error is None
        assert report.comparison is not None and report.comparison.ssim > 0.98
        assert report.genuine
        assert read_back(back, KEY).matches_document(KEY, made.document_id)


def test_rasterize_refuses_garbage() -> None:
    with pytest.raises(PdfError, match="not a PDF"):
        rasterize_pdf(b"hello")
    with pytest.raises(PdfError, match="Ghostscript failed"):
        rasterize_pdf(b"%PDF-1.4\nthis is not really a pdf\n")


def test_sheets_to_pdf_refuses_bad_pages(sheet: Sheet) -> None:
    with pytest.raises(PdfError):
        sheets_to_pdf([])
    with pytest.raises(PageFormatError):
        sheets_to_pdf([sheet.front, sheet.back[:, :100]])

"""inspect_sheet: the verdicts the scenarios rely on."""

from __future__ import annotations

import numpy as np
import pytest

from rig.core.antiforgery import PageFormatError, copier, inspect_sheet, layout
from tests.antiforgery.helpers import KEY, OTHER_KEY, Sheet


def test_original_is_genuine(sheet: Sheet) -> None:
    report = inspect_sheet(sheet.front, sheet.back, KEY)
    assert report.genuine
    assert not report.front.looks_copied and not report.back.looks_copied


def test_copy_is_caught_on_both_sides(sheet: Sheet) -> None:
    report = inspect_sheet(copier(sheet.front), copier(sheet.back), KEY)
    assert not report.genuine
    for side in (report.front, report.back):
        assert side.looks_copied
        assert not side.latent.found
        assert side.kensei_contrast > 0.06


def test_sides_swapped_reports_instead_of_raising(sheet: Sheet) -> None:
    report = inspect_sheet(sheet.back, sheet.front, KEY)
    assert not report.genuine and not report.back_decoded
    assert report.back_error is not None and report.back_error.startswith("HeaderDamagedError")


def test_wrong_key_is_reported(sheet: Sheet) -> None:
    report = inspect_sheet(sheet.front, sheet.back, OTHER_KEY)
    assert not report.genuine
    assert report.back_error is not None and report.back_error.startswith("WrongKeyError")


def test_unmarked_pages_have_no_marks(sheet: Sheet) -> None:
    blank = np.full(layout.PAGE_SHAPE, 255, np.uint8)
    report = inspect_sheet(sheet.content, blank, KEY)
    assert not report.front.all_marks and not report.back.all_marks
    assert report.back_error is not None and report.back_error.startswith("RegistrationError")


def test_bad_image_raises(sheet: Sheet) -> None:
    with pytest.raises(PageFormatError):
        inspect_sheet(sheet.front, sheet.back.astype(np.float64), KEY)

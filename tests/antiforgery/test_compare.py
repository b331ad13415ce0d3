"""An altered front is caught where it was altered; an untouched one is not."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from rig.core.antiforgery import Box, PageFormatError, compare, decode_back, layout, scan
from rig.core.antiforgery.specimen import _font
from tests.antiforgery.helpers import KEY, Sheet


def _overlaps(a: Box, b: Box) -> bool:
    return a.x < b.x1 and b.x < a.x1 and a.y < b.y1 and b.y < a.y1


def _alter(front: np.ndarray, box: Box, text: str) -> np.ndarray:
    """What a forger does: white out a field and write something else there."""
    image = Image.fromarray(front.copy())
    draw = ImageDraw.Draw(image)
    draw.rectangle((box.x, box.y, box.x1, box.y1), fill=255)
    draw.text((box.x + 2, box.y + 8), text, font=_font(38), fill=0)
    return np.asarray(image).copy()


# The value cell of the first 氏名 row of the specimen, and of the address row.
NAME_FIELD = Box(x=800, y=912, w=500, h=52)
ADDRESS_FIELD = Box(x=800, y=728, w=900, h=52)


def test_untouched_capture_matches(sheet: Sheet) -> None:
    report = compare(sheet.front, decode_back(sheet.back, KEY))
    assert report.ssim > 0.98
    assert report.altered == () and report.matches


@pytest.mark.parametrize(("field", "text"), [(NAME_FIELD, "佐藤 花子"), (ADDRESS_FIELD, "東京都")])
def test_altered_capture_is_caught_where_altered(sheet: Sheet, field: Box, text: str) -> None:
    forged = _alter(sheet.front, field, text)
    report = compare(forged, decode_back(sheet.back, KEY))
    assert not report.matches
    assert report.altered
    assert all(_overlaps(box, field.grown(20)) for box in report.altered)


def test_altered_scan_is_caught_where_altered(sheet: Sheet) -> None:
    forged = scan(_alter(sheet.front, NAME_FIELD, "佐藤 花子"), 0.6, (9, -14), noise=8, seed=21)
    back = scan(sheet.back, -1.2, (-20, 16), noise=8, blur_px=0.5, seed=22)
    report = compare(forged, decode_back(back, KEY))
    assert not report.matches
    assert any(_overlaps(box, NAME_FIELD.grown(20)) for box in report.altered)
    assert all(_overlaps(box, NAME_FIELD.grown(40)) for box in report.altered)


def test_a_single_changed_digit_is_caught(sheet: Sheet) -> None:
    # Paint one extra stroke (a "1" made into a "4"-like shape) inside the date row.
    forged = sheet.front.copy()
    forged[1030:1060, 830:834] = 0
    report = compare(forged, decode_back(sheet.back, KEY))
    assert any(_overlaps(box, Box(826, 1026, 12, 38)) for box in report.altered)


def test_back_of_another_sheet_does_not_match(sheet: Sheet, other_sheet: Sheet) -> None:
    # Same form, other entries: SSIM stays high (the form dominates), the fields differ.
    report = compare(sheet.front, decode_back(other_sheet.back, KEY))
    assert not report.matches
    assert len(report.altered) >= 5 and report.altered_fraction > 0.002


def test_compare_refuses_bad_pages(sheet: Sheet) -> None:
    with pytest.raises(PageFormatError):
        compare(sheet.front[:100], sheet.back)
    with pytest.raises(PageFormatError):
        compare(sheet.front, np.zeros((layout.PAGE_H, layout.PAGE_W, 3), np.uint8))

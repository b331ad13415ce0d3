"""Full A4 pages: the marks stay clear of the content, the back carries the whole page.

The defect this guards against: an A4 municipal page printed as it is put its table rules
and text on the front's registration marks (then beyond the A5 area's corners), so the
front could not be registered, and A4 text outside the A5 area was not on the back.
"""

from __future__ import annotations

import numpy as np
import pytest

from rig.core.antiforgery import (
    MATCH_SSIM,
    AntiforgeryError,
    Box,
    apply_marks,
    compare,
    decode_back,
    inspect_sheet,
    layout,
    read_back,
    scan,
    scramble,
)
from rig.core.antiforgery.marks import area_for
from rig.core.antiforgery.registration import fiducial_layer, register
from tests.antiforgery.helpers import KEY, Sheet

A4 = layout.AREA_A4


def _overlaps(a: Box, b: Box) -> bool:
    return a.x < b.x1 and b.x < a.x1 and a.y < b.y1 and b.y < a.y1


def test_marks_lie_outside_every_content_area() -> None:
    ink = fiducial_layer() == 0
    for area in (layout.AREA_A5, layout.AREA_A4):
        f = area.front.grown(layout.QUIET)
        assert not ink[f.y : f.y1, f.x : f.x1].any()
    # and inside the sheet, at least 5 mm (59 px) from its edges
    _, xs = np.nonzero(ink)
    assert xs.min() >= 59 and xs.max() < layout.PAGE_W - 59


def test_a_page_inked_up_to_its_48pt_margins_registers() -> None:
    # Table rules and text all over the A4 content area (x 198–2284, y 182–3450): the
    # municipal A4 layout at its extreme. Every mark is still found where it belongs.
    page = np.full(layout.PAGE_SHAPE, 255, np.uint8)
    page[182:3451:40, 198:2285] = 0
    page[182:3451, 198:2285:50] = 0
    front, back = apply_marks(page, KEY, "DENSE")
    for side in (front, back):
        reg = register(side)
        assert reg.residual_px < 0.5 and abs(reg.rotation_deg) < 0.01
    reading = read_back(back, KEY)
    assert reading.area is A4
    assert compare(front, reading).matches


def test_auto_picks_the_area_by_the_ink(sheet: Sheet, a4_sheet: Sheet) -> None:
    assert area_for(sheet.content) is layout.AREA_A5
    assert area_for(a4_sheet.content) is A4
    assert area_for(sheet.content, "A4") is A4
    with pytest.raises(AntiforgeryError, match="paper"):
        area_for(sheet.content, "Letter")  # type: ignore[arg-type]


def test_capture_decodes_to_the_whole_page_at_100_dpi(a4_sheet: Sheet) -> None:
    reading = read_back(a4_sheet.back, KEY, sharpen=0.0)
    assert reading.area is A4 and reading.matches_document(KEY, a4_sheet.document_id)
    c, m = A4.front, A4.module_px
    got = reading.image[c.y : c.y1, c.x : c.x1].astype(np.float32)
    want = a4_sheet.content[c.y : c.y1, c.x : c.x1].astype(np.float32)
    means = want.reshape(A4.modules_h, m, A4.modules_w, m).mean(axis=(1, 3))
    assert np.abs(got[::m, ::m] - means).max() <= 0.5 + 1e-6
    # every ink pixel of the page lies inside the area the back carries
    outside = a4_sheet.content < 250
    outside[c.y : c.y1, c.x : c.x1] = False
    assert not outside.any()


def test_the_a4_header_names_its_area_and_a5_headers_are_unchanged() -> None:
    nonce = scramble.nonce_for(KEY, "TEST-000000")
    a5 = scramble.header_bits(KEY, nonce)
    a4 = scramble.header_bits(KEY, nonce, A4)
    assert scramble.parse_header_area(KEY, a5) == (nonce, layout.AREA_A5)
    assert scramble.parse_header_area(KEY, a4) == (nonce, A4)
    # Pinned before the A4 area existed: sheets printed then still decode.
    assert np.packbits(a5).tobytes().hex() == "83f109af97f4e1235cca1abed4bd"


def test_untouched_a4_capture_matches(a4_sheet: Sheet) -> None:
    report = compare(a4_sheet.front, read_back(a4_sheet.back, KEY))
    assert report.ssim > 0.98 and report.altered == ()
    # A bare decoded page is told apart by its ink outside the A5 box.
    assert compare(a4_sheet.front, decode_back(a4_sheet.back, KEY)).matches
    assert inspect_sheet(a4_sheet.front, a4_sheet.back, KEY).genuine


# The footer's document number (outside the A5 area) and a name cell of the table.
FOOTER = Box(x=200, y=3350, w=800, h=50)
NAME = Box(x=720, y=360, w=420, h=50)


@pytest.mark.parametrize("field", [FOOTER, NAME], ids=["footer", "name"])
def test_altered_a4_capture_is_caught_where_altered(a4_sheet: Sheet, field: Box) -> None:
    forged = a4_sheet.front.copy()
    forged[field.y : field.y1, field.x : field.x1] = 255
    forged[field.y + 12 : field.y + 40, field.x + 20 : field.x + 300 : 24] = 0
    report = compare(forged, read_back(a4_sheet.back, KEY))
    assert not report.matches and report.altered
    assert all(_overlaps(box, field.grown(20)) for box in report.altered)


def test_a_single_added_stroke_is_caught_on_a4(a4_sheet: Sheet) -> None:
    # 2.5 mm × 0.34 mm, in a blank part of a value cell
    forged = a4_sheet.front.copy()
    forged[1330:1360, 1900:1904] = 0
    report = compare(forged, read_back(a4_sheet.back, KEY))
    assert any(_overlaps(box, Box(1896, 1326, 12, 38)) for box in report.altered)


@pytest.mark.parametrize(
    ("rotation", "offset", "noise", "blur"),
    [(0.6, (12, -9), 6.0, 0.0), (-1.5, (-40, 30), 10.0, 0.0), (0.8, (8, 8), 6.0, 0.6)],
)
def test_a4_scans_decode_and_match(
    a4_sheet: Sheet, rotation: float, offset: tuple[int, int], noise: float, blur: float
) -> None:
    back = scan(a4_sheet.back, rotation, offset, noise, blur_px=blur, seed=31)
    front = scan(a4_sheet.front, -rotation / 2, offset[::-1], noise, blur_px=blur, seed=32)
    reading = read_back(back, KEY)
    report = compare(front, reading)
    assert reading.area is A4
    assert report.ssim >= MATCH_SSIM and report.altered == (), report


def test_a4_back_of_another_page_does_not_match(a4_sheet: Sheet, sheet: Sheet) -> None:
    # An A5 sheet's back against an A4 front: the area is the back's, the content differs.
    report = compare(a4_sheet.front, read_back(sheet.back, KEY))
    assert not report.matches


def test_compare_refuses_an_unknown_area(a4_sheet: Sheet) -> None:
    with pytest.raises(AntiforgeryError, match="area"):
        compare(a4_sheet.front, a4_sheet.content, area="B5")

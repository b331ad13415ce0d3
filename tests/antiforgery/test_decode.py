"""Decoding the back from printer captures and from 300 dpi scans."""

from __future__ import annotations

import numpy as np
import pytest

from rig.core.antiforgery import (
    MATCH_SSIM,
    HeaderDamagedError,
    PageFormatError,
    RegistrationError,
    WrongKeyError,
    apply_marks,
    compare,
    decode_back,
    layout,
    read_back,
    scan,
)
from tests.antiforgery.helpers import KEY, OTHER_KEY, Sheet


def test_capture_decodes_to_the_content(sheet: Sheet) -> None:
    reading = read_back(sheet.back, KEY, sharpen=0.0)
    assert reading.matches_document(KEY, sheet.document_id)
    assert not reading.matches_document(KEY, "TEST-999999")
    c = layout.CONTENT
    got = reading.image[c.y : c.y1, c.x : c.x1].astype(np.float32)
    want = sheet.content[c.y : c.y1, c.x : c.x1].astype(np.float32)
    # Exact at module resolution: each 2×2 square is the mean of the front's 2×2 pixels.
    means = want.reshape(c.h // 2, 2, c.w // 2, 2).mean(axis=(1, 3))
    assert np.abs(got[::2, ::2] - means).max() <= 0.5 + 1e-6
    assert reading.image[: c.y].min() == 255


def test_scrambled_back_does_not_show_the_front(sheet: Sheet) -> None:
    # area="A5": a raw back has ink outside the A5 box, so it would be read as an A4 page
    report = compare(sheet.front, sheet.back, area="A5")
    assert report.ssim < 0.5


@pytest.mark.parametrize(
    ("rotation", "offset", "noise"),
    [
        (0.0, (0, 0), 0.0),
        (0.5, (10, -7), 4.0),
        (-1.0, (-25, 18), 8.0),
        (1.8, (40, 35), 10.0),
        (-3.0, (-60, -45), 12.0),
    ],
)
def test_scans_decode_and_match_the_front(
    sheet: Sheet, rotation: float, offset: tuple[int, int], noise: float
) -> None:
    back = scan(sheet.back, rotation, offset, noise, seed=11)
    front = scan(sheet.front, -rotation / 2, (offset[1], offset[0]), noise, seed=12)
    reading = read_back(back, KEY)
    assert abs(reading.registration.rotation_deg - rotation) < 0.05
    report = compare(front, reading.image)
    assert report.ssim >= MATCH_SSIM
    assert report.altered == ()
    assert report.matches


def test_scan_with_scanner_blur_still_matches(sheet: Sheet) -> None:
    back = scan(sheet.back, 0.7, (8, 8), noise=6, blur_px=0.6, seed=3)
    front = scan(sheet.front, 0.2, (3, -4), noise=6, blur_px=0.6, seed=4)
    assert compare(front, decode_back(back, KEY)).matches


def test_wrong_key_is_named(sheet: Sheet) -> None:
    with pytest.raises(WrongKeyError):
        decode_back(sheet.back, OTHER_KEY)


def test_front_given_as_back_is_refused(sheet: Sheet) -> None:
    with pytest.raises(HeaderDamagedError):
        decode_back(sheet.front, KEY)


def test_blank_page_has_no_registration() -> None:
    with pytest.raises(RegistrationError):
        decode_back(np.full(layout.PAGE_SHAPE, 255, np.uint8), KEY)


def test_too_much_rotation_is_refused(sheet: Sheet) -> None:
    with pytest.raises(RegistrationError):
        decode_back(scan(sheet.back, 8.0), KEY)


def test_cropped_margin_is_refused(sheet: Sheet) -> None:
    # Mark 0 sits in the left margin at mid-height (x 100–140, y 1134–1174).
    cropped = sheet.back.copy()
    cropped[:1400, :300] = 255
    with pytest.raises(RegistrationError, match="mark 0"):
        decode_back(cropped, KEY)


def test_damaged_header_is_refused(sheet: Sheet) -> None:
    damaged = sheet.back.copy()
    h = layout.HEADER
    damaged[h.y : h.y1, h.x : h.x + 200] = 0
    with pytest.raises(HeaderDamagedError):
        decode_back(damaged, KEY)


def test_bad_scan_format_is_refused(sheet: Sheet) -> None:
    with pytest.raises(PageFormatError):
        decode_back(sheet.back[:-1], KEY)
    with pytest.raises(PageFormatError):
        decode_back(sheet.back.astype(np.int16), KEY)


def test_apply_marks_leaves_the_input_alone_and_is_deterministic(sheet: Sheet) -> None:
    front, back = apply_marks(sheet.content, KEY, sheet.document_id)
    assert np.array_equal(front, sheet.front) and np.array_equal(back, sheet.back)
    assert front.flags.writeable and back.flags.writeable
    _, other_back = apply_marks(sheet.content, KEY, "TEST-OTHER")
    c = layout.CONTENT
    assert np.mean(other_back[c.y : c.y1, c.x : c.x1] == back[c.y : c.y1, c.x : c.x1]) < 0.6


def test_fixed_marks_separate_the_certificate_from_the_marks(sheet: Sheet) -> None:
    from rig.core.antiforgery import fixed_marks

    front_marks = fixed_marks("front")
    assert np.array_equal(np.minimum(sheet.content, front_marks), sheet.front)
    # Ink that is not a mark is the certificate's: it lies inside the A5 content box.
    c = layout.CONTENT
    own = (sheet.front < 250) & (front_marks == 255)
    outside = own.copy()
    outside[c.y : c.y1, c.x : c.x1] = False
    assert own.any() and not outside.any()

"""けん制文字: 「複写」 invisible on the original, visible on a copy."""

from __future__ import annotations

import numpy as np
import pytest

from rig.core.antiforgery import INVISIBLE_BELOW, VISIBLE_ABOVE, copier, kensei_contrast, layout
from rig.core.antiforgery.errors import PageFormatError
from rig.core.antiforgery.kensei import CELL, keep_out, pattern_layer, word_cells
from tests.antiforgery.helpers import Sheet


def test_thresholds_leave_a_clear_gap() -> None:
    assert 0 < INVISIBLE_BELOW < VISIBLE_ABOVE


def test_word_and_background_cells_carry_the_same_ink() -> None:
    layer = pattern_layer("front")
    words = word_cells()
    # Whole cells well inside the page and the pattern area.
    h, w = 3240, 2475

    def per_cell(mask: np.ndarray) -> np.ndarray:
        return np.asarray(mask[:h, :w].reshape(h // CELL, CELL, w // CELL, CELL).sum(axis=(1, 3)))

    cells = per_cell(layer == 0)
    is_word = words[:h:CELL, :w:CELL]
    full = per_cell(keep_out("front")) == 0
    assert set(np.unique(cells[full & is_word])) == {9}
    assert set(np.unique(cells[full & ~is_word])) == {9}
    assert is_word.sum() > 1000 and (~is_word).sum() > 10000


def test_original_shows_no_word(sheet: Sheet) -> None:
    for side in (sheet.front, sheet.back):
        assert abs(kensei_contrast(side)) < INVISIBLE_BELOW / 4


def test_copy_shows_the_word(sheet: Sheet) -> None:
    for side in (sheet.front, sheet.back):
        assert kensei_contrast(copier(side)) > VISIBLE_ABOVE


@pytest.mark.parametrize(
    ("dpi", "blur", "threshold"),
    [(200, 0.03, 100), (200, 0.06, 128), (200, 0.10, 150), (300, 0.06, 128), (400, 0.06, 140)],
)
def test_copiers_inside_the_envelope_reveal_the_word(
    sheet: Sheet, dpi: float, blur: float, threshold: float
) -> None:
    copy = copier(sheet.front, dpi=dpi, blur=blur, threshold=threshold)
    assert kensei_contrast(copy) > VISIBLE_ABOVE


def test_a_copier_resolving_the_print_raster_copies_faithfully(sheet: Sheet) -> None:
    # The documented limit: a 300 dpi copier with sharp optics reproduces every dot.
    copy = copier(sheet.front, dpi=300, blur=0.03, threshold=128)
    assert abs(kensei_contrast(copy)) < INVISIBLE_BELOW


def test_back_pattern_leaves_the_scrambled_image_alone(sheet: Sheet) -> None:
    c = layout.CONTENT
    assert pattern_layer("back")[c.y : c.y1, c.x : c.x1].min() == 255
    assert pattern_layer("front")[c.y : c.y1, c.x : c.x1].min() == 0


def test_plain_paper_and_black_page_have_no_contrast() -> None:
    assert kensei_contrast(np.full(layout.PAGE_SHAPE, 255, np.uint8)) == 0.0
    assert kensei_contrast(np.zeros(layout.PAGE_SHAPE, np.uint8)) == 0.0


@pytest.mark.parametrize(
    "bad",
    [np.zeros((100, 100), np.uint8), np.zeros(layout.PAGE_SHAPE, np.float32), "page"],
)
def test_bad_pages_are_refused(bad: object) -> None:
    with pytest.raises(PageFormatError):
        kensei_contrast(bad)  # type: ignore[arg-type]

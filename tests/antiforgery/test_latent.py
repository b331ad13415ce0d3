"""偽変造防止検出画像: the special viewer finds the latent image on originals, not on copies."""

from __future__ import annotations

import numpy as np
import pytest

from rig.core.antiforgery import copier, detect_latent, layout, scan
from rig.core.antiforgery.latent import FOUND_AT, emblem_layer, orientation_map
from tests.antiforgery.helpers import Sheet


def test_found_on_both_sides_of_an_original(sheet: Sheet) -> None:
    for side in (sheet.front, sheet.back):
        reading = detect_latent(side)
        assert reading.found and reading.score > FOUND_AT + 0.15
        assert reading.shift == (0, 0)


def test_lost_on_a_copy(sheet: Sheet) -> None:
    for side in (sheet.front, sheet.back):
        reading = detect_latent(copier(side))
        assert not reading.found and abs(reading.score) < 0.1


def test_emblem_is_uniform_to_the_eye() -> None:
    # Figure and ground carry the same ink: the latent image is not visible unaided.
    from rig.core.antiforgery.latent import _figure_and_disc

    figure, disc = _figure_and_disc()
    box = layout.EMBLEM
    ink = emblem_layer()[box.y : box.y1, box.x : box.x1] == 0
    inner = disc & ~np.pad(~disc, 4)[4:-4, 4:-4]
    assert abs(ink[figure & inner].mean() - ink[~figure & inner].mean()) < 0.01


def test_viewer_reveals_the_figure_shape() -> None:
    from rig.core.antiforgery.latent import _figure_and_disc

    figure, disc = _figure_and_disc()
    box = layout.EMBLEM
    orient = orientation_map(emblem_layer()[box.y : box.y1, box.x : box.x1])
    core = disc & ~np.pad(~disc, 12)[12:-12, 12:-12]
    assert np.median(orient[figure & core]) > 0.6
    assert np.median(orient[~figure & core]) < -0.6


def test_found_on_a_shifted_noisy_scan_at_the_shift(sheet: Sheet) -> None:
    reading = detect_latent(scan(sheet.front, 0.0, (12, -9), noise=6, seed=4))
    assert reading.found
    assert reading.shift == (12, -9)


def test_found_on_a_slightly_rotated_scan(sheet: Sheet) -> None:
    assert detect_latent(scan(sheet.back, 0.3, (5, 5), noise=6, seed=5)).found


@pytest.mark.parametrize("fill", [0, 128, 255])
def test_not_found_on_uniform_pages(fill: int) -> None:
    assert not detect_latent(np.full(layout.PAGE_SHAPE, fill, np.uint8)).found


def test_not_found_on_noise() -> None:
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, layout.PAGE_SHAPE, dtype=np.uint8)
    assert not detect_latent(noise).found

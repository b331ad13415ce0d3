"""Bad input at every entry point gets a specific AntiforgeryError, never a crash."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rig.core.antiforgery import (
    AntiforgeryError,
    KeyFormatError,
    PageFormatError,
    apply_marks,
    copier,
    read_back,
    scan,
)
from tests.antiforgery.helpers import KEY, Sheet, fuzz_examples

PAGE = np.full((3508, 2480), 255, np.uint8)


@pytest.mark.parametrize(
    "page",
    [
        np.full((3508, 2480), 255, np.float32),
        np.full((2480, 3508), 255, np.uint8),
        np.full((3508, 2480, 3), 255, np.uint8),
        [[255]],
    ],
)
def test_apply_marks_refuses_bad_pages(page: object) -> None:
    with pytest.raises(PageFormatError):
        apply_marks(page, KEY, "D")  # type: ignore[arg-type]


@pytest.mark.parametrize("document_id", ["", "x" * 257, None, b"bytes-id"])
def test_apply_marks_refuses_bad_document_ids(document_id: object) -> None:
    with pytest.raises(AntiforgeryError, match="document_id"):
        apply_marks(PAGE, KEY, document_id)  # type: ignore[arg-type]


def test_apply_marks_refuses_bad_keys() -> None:
    with pytest.raises(KeyFormatError):
        apply_marks(PAGE, b"too short", "D")


@pytest.mark.parametrize(
    "kwargs",
    [{"dpi": 5.0}, {"dpi": 5000.0}, {"blur": -1.0}, {"threshold": 0.0}, {"threshold": 300.0}],
)
def test_copier_refuses_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(AntiforgeryError):
        copier(PAGE, **kwargs)


def test_copier_and_scanner_refuse_bad_images() -> None:
    bad_images: list[object] = [np.zeros((4, 4), np.uint8), np.zeros((50, 50), np.int32)]
    for bad in bad_images:
        with pytest.raises(AntiforgeryError):
            copier(bad)  # type: ignore[arg-type]
        with pytest.raises(AntiforgeryError):
            scan(bad)  # type: ignore[arg-type]
    with pytest.raises(AntiforgeryError):
        scan(PAGE, rotation_deg=45.0)
    with pytest.raises(AntiforgeryError):
        scan(PAGE, noise=-1.0)


def test_copier_keeps_the_page_size_and_makes_it_binary(sheet: Sheet) -> None:
    copy = copier(sheet.front, dpi=173)
    assert copy.shape == sheet.front.shape and copy.dtype == np.uint8
    assert set(np.unique(copy)) <= {0, 255}


def test_scan_without_changes_is_the_identity(sheet: Sheet) -> None:
    assert np.array_equal(scan(sheet.front), sheet.front)


@pytest.mark.fuzz
@settings(max_examples=fuzz_examples(8), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3507), st.integers(0, 2479), st.integers(1, 700), st.integers(0, 255)
        ),
        min_size=1,
        max_size=4,
    ),
    st.floats(-6.0, 6.0),
)
def test_fuzz_damaged_back_scans(
    sheet: Sheet, damage: list[tuple[int, int, int, int]], rotation: float
) -> None:
    back = scan(sheet.back, rotation, (0, 0)) if abs(rotation) > 0.01 else sheet.back.copy()
    for y, x, size, value in damage:
        back[y : y + size, x : x + size] = value
    try:
        reading = read_back(back, KEY)
    except AntiforgeryError:
        return
    assert reading.image.shape == back.shape and reading.image.dtype == np.uint8
    assert reading.matches_document(KEY, sheet.document_id)


@pytest.mark.fuzz
@settings(max_examples=fuzz_examples(5), deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_fuzz_random_images_as_backs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (3508, 2480), dtype=np.uint8)
    with pytest.raises(AntiforgeryError):
        read_back(image, KEY)

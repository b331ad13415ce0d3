"""rig.core.side_by_side: the second half of a list of work in a thread of its own."""

from __future__ import annotations

import threading

import pytest

from rig.core.side_by_side import map_side_by_side


@pytest.mark.parametrize("count", [0, 1, 2, 3, 6, 7])
def test_results_come_back_in_order(count: int) -> None:
    assert map_side_by_side(lambda n: n * n, list(range(count))) == [n * n for n in range(count)]


def test_the_second_half_runs_in_another_thread() -> None:
    names = map_side_by_side(lambda _n: threading.current_thread().name, [1, 2, 3, 4])
    assert names[:2] == [threading.current_thread().name] * 2
    assert names[2:] == ["side-by-side"] * 2


def test_an_error_in_the_second_half_is_raised_to_the_caller() -> None:
    def work(n: int) -> int:
        if n == 3:
            raise ValueError("page 3")
        return n

    with pytest.raises(ValueError, match="page 3"):
        map_side_by_side(work, [1, 2, 3])

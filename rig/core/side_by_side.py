"""Two halves of a list of independent pieces of work, side by side on the machine's cores.

The issuance path has a few such lists (the pages of one certificate to mark, its page
images to compress); their work is numpy and zlib, which release the GIL, so the second
half in a thread of its own takes about half the wall time off a quiet machine and costs
nothing measurable when the machine is busy. One short-lived thread per call, never a
shared pool: a pool would make concurrent issuances queue behind each other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_side_by_side(work: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
    """`[work(i) for i in items]`, the second half in a thread; its exception is raised here."""
    if len(items) < 2:
        return [work(item) for item in items]
    split = (len(items) + 1) // 2
    later: list[Result] = []
    failed: list[BaseException] = []

    def second_half() -> None:
        try:
            later.extend(work(item) for item in items[split:])
        except BaseException as exc:  # handed to the caller's thread below
            failed.append(exc)

    thread = threading.Thread(target=second_half, name="side-by-side", daemon=True)
    thread.start()
    try:
        first = [work(item) for item in items[:split]]
    finally:
        thread.join()
    if failed:
        raise failed[0]
    return first + later

"""Checks the scenarios apply to what a printer captured (pure functions, no fixtures).

They live outside the scenario modules so that unit tests can prove, with negative controls,
that each check catches what it is meant to catch (tests/printer/test_document_fidelity.py).

* `fidelity_problems` (PRINT-004): the certificate job the printer received is the document
  the centre served, byte for byte (SHA-256), unscaled, on A4, with the right page count.
* `receipt_problems` (PAY-012): the receipt text states the certificate type, the copies,
  the fee per copy and the total paid. Amounts are matched as whole numbers of yen
  ("200円", "¥200", "1,000円", full-width digits), so 1,200 yen never passes for 200.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

#: Scaling attribute values that mean "print as it is".
NO_SCALING: dict[str, tuple[object, ...]] = {
    "print-scaling": ("none",),
    "fit-to-page": (False,),
    "scaling": (100,),
    "natural-scaling": (100,),
}
A4_SIDE_KEYS = ("front", "back")


def fidelity_problems(
    served_sha256: str,
    served_pages: int,
    copies: int,
    job: Mapping[str, Any],
    sheets: Sequence[Mapping[str, Any]],
) -> list[str]:
    """Why the printed job is not the served document, unaltered (empty: it is).

    `job` is the printer's `job-ended` record of the certificate job, `sheets` its `sheet`
    records (docs/printer.md, Evidence).
    """
    problems: list[str] = []
    if job.get("document_sha256") != served_sha256:
        problems.append(
            f"the printer received a different document (SHA-256 {job.get('document_sha256')}, "
            f"the centre served {served_sha256})"
        )
    for name, value in (job.get("scaling_requested") or {}).items():
        if value not in NO_SCALING.get(name, ()):
            problems.append(f"the job asked for scaling: {name}={value!r}")
    if job.get("pages") != served_pages:
        problems.append(f"{job.get('pages')} pages printed, the document has {served_pages}")
    if job.get("copies") != copies:
        problems.append(f"{job.get('copies')} copies asked of the printer, {copies} ordered")
    per_copy = served_pages if job.get("sides") == "one-sided" else math.ceil(served_pages / 2)
    if len(sheets) != per_copy * copies:
        problems.append(f"{len(sheets)} sheets captured, {per_copy * copies} expected")
    for sheet in sheets:
        for key in A4_SIDE_KEYS:
            side = sheet.get(key)
            if side is not None and not side.get("is_a4"):
                problems.append(
                    f"sheet {sheet.get('sheet')} {key} is {side.get('width_mm')} x "
                    f"{side.get('height_mm')} mm, not A4"
                )
    return problems


def normalised(text: str) -> str:
    """NFKC (full-width digits and colons to ASCII) without thousands separators."""
    return re.sub(r"(?<=\d),(?=\d{3})", "", unicodedata.normalize("NFKC", text))


def states_yen(text: str, yen: int) -> bool:
    return re.search(rf"(?:(?<![\d.])¥\s*{yen}(?!\d)|(?<![\d.]){yen}\s*円)", text) is not None


def states_copies(text: str, copies: int) -> bool:
    return re.search(rf"(?<!\d){copies}\s*(?:通|部)", text) is not None


def receipt_problems(text: str, title: str, copies: int, per_copy: int, total: int) -> list[str]:
    """What the receipt fails to state (empty: it states everything PAY-012 asks)."""
    body = normalised(text)
    problems = []
    if normalised(title) not in body:
        problems.append(f"certificate type {title!r} missing")
    if not states_copies(body, copies):
        problems.append(f"copies ({copies}通) missing")
    if not states_yen(body, per_copy):
        problems.append(f"fee per copy ({per_copy}円) missing")
    if not states_yen(body, total):
        problems.append(f"total paid ({total}円) missing")
    return problems

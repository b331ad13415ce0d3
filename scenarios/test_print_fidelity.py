"""The printed certificate is the document the centre served (PRINT-004; seed I.3, p.5).

Judged at the interfaces only: the centre's evidence names the SHA-256 of the document it
issued to the kiosk (the same digest travels in the download's X-Document-SHA256 header); the
printer's evidence names the SHA-256 of the document each IPP job carried, the scaling or fit
attributes the job asked for, the pages it rendered and every sheet it captured. A kiosk that
re-renders, re-compresses, stamps or scales the certificate fails here.

The check itself is `scenarios.document_checks.fidelity_problems`;
tests/printer/test_document_fidelity.py proves it catches an altered document (the negative
control).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from rig.harness.world import World
from scenarios.document_checks import fidelity_problems
from scenarios.test_payment import LAYOUT, books, finish, records, to_payment


def certificate_job(world: World) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The one certificate job the printer completed and the sheets it captured for it."""
    ended = records(world, "printer-print", "job-ended")
    assert len(ended) == 1, f"one certificate job expected, the printer saw {len(ended)}"
    job = ended[0]
    assert job["state"] == "completed", job
    sheets = [s for s in records(world, "printer-print", "sheet") if s["job_id"] == job["job_id"]]
    return job, sheets


@pytest.mark.requirement("PRINT-004")
@pytest.mark.smoke
@LAYOUT
@pytest.mark.parametrize(
    ("cert_type", "trait", "variant", "copies"),
    [
        pytest.param("resident_record", "household_of_1", None, 1, id="juminhyo-1"),
        pytest.param("koseki", "koseki_here", "full", 2, id="koseki-2-copies"),
    ],
)
def test_printer_receives_the_served_document_unscaled(
    world: World, cert_type: str, trait: str, variant: str | None, copies: int
) -> None:
    view = to_payment(world, cert_type, trait=trait, variant=variant, copies=copies)
    fee = int(view.facts["fee_yen"] or 0)
    world.customer.pay(*([1000] * math.ceil(fee / 1000)))
    finish(world)
    books(world, fee)
    (issued,) = records(world, "centre", "issued")
    assert issued["copies"] == copies
    job, sheets = certificate_job(world)
    assert fidelity_problems(issued["sha256"], issued["pages"], copies, job, sheets) == []
    taken = world.customer.certificates
    assert len(taken) == len(sheets), "the customer took every captured sheet"
    assert all(s.front.measure.is_a4 and (s.back is None or s.back.measure.is_a4) for s in taken)

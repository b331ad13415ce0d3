"""Printing at the kiosk (印刷中画面 ⑬; seed I.2 (4), I.3 (1), I.4.1 (8); notes: Incidents).

Judged at the printer: the IPP job the kiosk sent (the printer's evidence of its Print-Job
attributes) and every captured sheet (A4 size, blank sides, where the ink sits), and on the
robot (what ⑬ says, the notice and its refund).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from emulators.printer import Fault, FaultKind
from rig.core.protocols.robot import ScreenId
from rig.harness.kiosk_steps import coins_for
from rig.harness.world import CITY, KOSEKI_TOWN, World
from scenarios.test_payment import (
    LAYOUT,
    books,
    finish,
    print_jobs,
    records,
    to_payment,
    wait_view,
)

#: (type, variant, trait) for every certificate type at みなと市
TYPES = [
    pytest.param("resident_record", None, "household_of_1", id="resident_record"),
    pytest.param("resident_record_entries", None, "household_of_1", id="resident_record_entries"),
    pytest.param("seal_registration", None, "seal_registered", id="seal_registration"),
    pytest.param("tax_certificate", "income", "tax_record", id="tax_certificate"),
    pytest.param("koseki", "full", "koseki_here", id="koseki"),
    pytest.param("fuhyo", None, "koseki_here", id="fuhyo"),
]


#: The centre's foot line (document id, sheet, time) sits below this: not certificate content.
FOOT_MM = 275.0
#: The corner marks around an A5 area reach this far outside it.
MARK_MARGIN_MM = 6.0
A4_MM, A5_MM = (210.0, 297.0), (148.0, 210.0)


def content_box(side: Any) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) in mm of the ink above the centre's foot line."""
    mm = 25.4 / side.dpi
    ink = side.pixels[: int(FOOT_MM / mm)] < 250
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    assert rows.size and cols.size, "the side carries no content"
    return (cols[0] * mm, rows[0] * mm, (cols[-1] + 1) * mm, (rows[-1] + 1) * mm)


def inside_centred_a5(box: tuple[float, float, float, float]) -> bool:
    left, top = (A4_MM[0] - A5_MM[0]) / 2, (A4_MM[1] - A5_MM[1]) / 2
    m = MARK_MARGIN_MM
    return (
        box[0] >= left - m
        and box[1] >= top - m
        and box[2] <= left + A5_MM[0] + m
        and box[3] <= top + A5_MM[1] + m
    )


def issue(world: World, cert_type: str, *, copies: int = 1, **choice: Any) -> list[Any]:
    """A whole issuance paid exactly; returns the sheets the customer took."""
    view = to_payment(world, cert_type, copies=copies, **choice)
    world.customer.pay(*coins_for(int(view.facts["fee_yen"] or 0)))
    finish(world)
    return list(world.customer.certificates)


@pytest.mark.requirement("PRINT-001", "PRINT-002")
@pytest.mark.parametrize(("cert_type", "variant", "trait"), TYPES)
def test_a4_plain_duplex_with_marks_on_the_back(
    world: World, cert_type: str, variant: str | None, trait: str
) -> None:
    """Full anti-forgery stage: every sheet A4, printed both sides, the back carrying the
    marks (never blank), requested as A4 plain media over IPP."""
    sheets = issue(world, cert_type, variant=variant, trait=trait)
    jobs = print_jobs(world)
    assert len(jobs) == 1
    assert jobs[0]["media"] == "iso_a4_210x297mm"
    assert jobs[0]["sides"] == "two-sided-long-edge"
    ipp = [r for r in records(world, "printer-print", "ipp") if r["operation"] == "print-job"]
    assert ipp and ipp[0]["status"] in ("0x0000",), "the Print-Job attributes were all supported"
    assert sheets
    for sheet in sheets:
        assert sheet.checks["size_ok"] and sheet.front.measure.is_a4
        assert sheet.back is not None and sheet.back.measure.is_a4
        assert not sheet.checks["front_blank"]
        assert not sheet.checks["back_blank"], "the back carries the anti-forgery images"


@pytest.mark.requirement("PRINT-003")
@LAYOUT
@pytest.mark.parametrize(
    ("code", "cert_type", "variant", "trait"),
    [
        pytest.param(CITY, "seal_registration", None, "seal_registered", id="seal"),
        pytest.param(CITY, "resident_record_entries", None, "household_of_1", id="entries"),
        pytest.param(KOSEKI_TOWN, "tax_certificate", "income", "tax_record", id="kawabe-tax"),
    ],
)
def test_a5_certificates_centred_on_a4(
    world: World, code: str, cert_type: str, variant: str | None, trait: str
) -> None:
    sheets = issue(world, cert_type, code=code, variant=variant, trait=trait)
    assert sheets
    for sheet in sheets:
        assert sheet.front.measure.is_a4, "A5 content goes on A4 paper"
        box = content_box(sheet.front)
        assert inside_centred_a5(box), f"content at {box} is outside the centred A5 area"
        dx = (box[0] + box[2]) / 2 - A4_MM[0] / 2
        dy = (box[1] + box[3]) / 2 - A4_MM[1] / 2
        assert abs(dx) <= 1.0 and abs(dy) <= 1.0, f"A5 content off centre by {dx:.1f}, {dy:.1f} mm"


@pytest.mark.requirement("PRINT-001")
@LAYOUT
def test_a4_certificate_is_not_shrunk_to_a5(world: World) -> None:
    """Control for the A5 check: an A4 住民票 fills more than an A5 area."""
    sheets = issue(world, "resident_record", trait="household_of_8")
    assert sheets and not inside_centred_a5(content_box(sheets[0].front))
    assert all(s.checks["size_ok"] for s in sheets)


@pytest.mark.requirement("PRINT-005")
@LAYOUT
@pytest.mark.parametrize("copies", [1, 3])
def test_copies_complete_with_pages_in_order(world: World, copies: int) -> None:
    """A multi-page 住民票 (household of 8): each copy has every page, in order, duplex."""
    sheets = issue(world, "resident_record", trait="household_of_8", copies=copies)
    issued = records(world, "municipal", "issued")
    assert len(issued) == 1
    pages = int(issued[0]["pages"])
    assert pages >= 3
    per_copy = (pages + 1) // 2
    assert len(sheets) == per_copy * copies
    expected: list[int | None] = []
    for _ in range(copies):
        for n in range(1, pages + 1):
            expected.append(n)
        if pages % 2:
            expected.append(None)
    printed = [
        side.page_number if side is not None and not side.measure.blank else None
        for sheet in sheets
        for side in (sheet.front, sheet.back)
    ]
    assert printed == expected
    jobs = print_jobs(world)
    assert len(jobs) == 1 and jobs[0]["copies"] == copies, "one job for all the copies"
    books(world, 200 * copies)


@pytest.mark.requirement("PRINT-006")
@LAYOUT
@pytest.mark.parametrize("seconds", [170])
def test_a_print_longer_than_two_minutes_is_not_aborted(world: World, seconds: int) -> None:
    """The printer needs `seconds` of rig time (its cover closes itself then): the kiosk
    waits and delivers, it does not give up at 2 minutes."""
    to_payment(world, "resident_record", trait="household_of_1")
    world.printer.inject(Fault(FaultKind.DOOR_OPEN, duration_s=seconds))
    world.customer.pay(100, 100)
    wait_view(
        world, lambda v: v.screen is ScreenId.PRINTING and bool(v.facts.get("printer_problem"))
    )
    for _ in range(seconds // 10):
        world.customer.wait(10)
        assert world.customer.sees().screen is ScreenId.PRINTING
    world.customer.wait(seconds % 10 + 1)
    finish(world)
    assert world.customer.certificates, "the certificate was delivered"
    books(world, 200)


@pytest.mark.requirement("PRINT-007", "PAY-010", "INPUT-004")
@LAYOUT
@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault(FaultKind.PAPER_OUT, sheets=0), "media-empty"),
        (Fault(FaultKind.JAM, sheets=1), "media-jam"),
        (Fault(FaultKind.DOOR_OPEN), "door-open"),
    ],
    ids=["paper-out", "jam", "door-open"],
)
def test_printer_fault_stops_tells_and_cancels(world: World, fault: Fault, reason: str) -> None:
    to_payment(world, "resident_record", trait="household_of_1")
    world.printer.inject(fault)
    world.customer.pay(100, 100)
    view = wait_view(
        world, lambda v: v.screen is ScreenId.PRINTING and bool(v.facts.get("printer_problem"))
    )
    assert reason in str(view.facts["printer_problem"]), "⑬ tells the customer why"
    world.customer.wait_out(ScreenId.PRINTING)
    view = world.customer.wait_for(ScreenId.NOTICE)
    assert view.facts["code"] == "print_failed" and view.facts["refund_yen"] == 200
    ended = records(world, "printer-print", "job-ended")
    assert ended and ended[-1]["state"] in ("canceled", "aborted"), "the job is not left queued"
    # staff fix the printer: nothing of this issuance comes out afterwards
    world.printer.faults.refill()
    world.printer.faults.clear_jam()
    world.printer.faults.close_door()
    world.printer.wait_idle(5)
    taken = world.printer.take_sheets()
    assert taken == [], "no sheet of the cancelled issuance is printed later"
    books(world, 0)

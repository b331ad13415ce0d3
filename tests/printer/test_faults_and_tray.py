"""Faults (paper out, jam, door, offline, toner), the output-tray sensor, receipts, retention."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from emulators.printer import Fault, FaultKind, VirtualPrinter
from emulators.printer.faults import FaultError
from emulators.printer.samples import make_pdf, make_receipt_pdf
from rig.core.clock import RigClock
from rig.core.drivers.ipp_client import SHEETS_IN_TRAY_REASON, IppClient, IppClientError, JobInfo
from rig.core.evidence import EvidenceStore
from rig.core.protocols.ipp import JobState, PrinterState, Status


def until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def stopped(client: IppClient, job_id: int) -> Callable[[], bool]:
    return lambda: client.get_job(job_id).state == JobState.PROCESSING_STOPPED


def finish(client: IppClient, job_id: int) -> JobInfo:
    return client.wait_for_job(job_id, timeout=30)


def test_paper_out_stops_the_job_and_a_refill_resumes_it(
    printer: VirtualPrinter, client: IppClient
) -> None:
    printer.inject(Fault(FaultKind.PAPER_OUT, sheets=2))
    job = client.print_job(make_pdf(6), sides="two-sided-long-edge")
    until(stopped(client, job.job_id))
    info = client.get_job(job.job_id)
    assert "media-empty" in info.reasons and "printer-stopped" in info.reasons
    state, reasons = client.printer_state()
    assert state == PrinterState.STOPPED
    assert "media-empty" in reasons and "media-needed" in reasons
    assert printer.certificate.tray.count == 2
    time.sleep(0.3)  # nothing more comes out while the tray is empty
    assert printer.certificate.tray.count == 2
    printer.faults.refill()
    done = finish(client, job.job_id)
    assert done.state == JobState.COMPLETED
    sheets = printer.take_sheets()
    assert [s.front.page_number for s in sheets] == [1, 3, 5]
    assert "media-empty" not in client.printer_state()[1]


def test_jam_on_sheet_n_stops_and_reprints_that_sheet(
    printer: VirtualPrinter, client: IppClient
) -> None:
    before = printer.certificate.paper_level
    printer.inject(Fault(FaultKind.JAM, sheets=2))
    job = client.print_job(make_pdf(6), sides="two-sided-long-edge")
    until(stopped(client, job.job_id))
    assert "media-jam" in client.get_job(job.job_id).reasons
    assert client.printer_state()[0] == PrinterState.STOPPED
    assert printer.certificate.tray.count == 1
    printer.faults.clear_jam()
    assert finish(client, job.job_id).state == JobState.COMPLETED
    sheets = printer.take_sheets()
    assert [(s.front.page_number, s.back.page_number if s.back else 0) for s in sheets] == [
        (1, 2),
        (3, 4),
        (5, 6),
    ]
    assert before - printer.certificate.paper_level == 4  # the jammed sheet is spent
    events = [r["event"] for r in printer.certificate.evidence.records("printer-print")]  # type: ignore[union-attr]
    assert "jam" in events and "job-resumed" in events


def test_door_open_blocks_printing_until_closed(printer: VirtualPrinter, client: IppClient) -> None:
    printer.inject(Fault(FaultKind.DOOR_OPEN))
    job = client.print_job(make_pdf(1))
    until(stopped(client, job.job_id))
    assert "door-open" in client.printer_state()[1]
    assert printer.tray_empty()
    printer.faults.close_door()
    assert finish(client, job.job_id).state == JobState.COMPLETED
    assert not printer.tray_empty()


def test_faults_scheduled_on_the_rig_clock(
    printer: VirtualPrinter, client: IppClient, rig_clock: RigClock
) -> None:
    printer.inject(
        Fault(FaultKind.DOOR_OPEN, at=rig_clock.now() + timedelta(minutes=1), duration_s=30)
    )
    printer.inject(Fault(FaultKind.TONER_LOW, at=rig_clock.now() + timedelta(minutes=2)))
    assert client.printer_state()[1] == ["none"]
    rig_clock.advance(59)
    assert "door-open" not in client.printer_state()[1]
    rig_clock.advance(1)
    assert "door-open" in client.printer_state()[1]
    rig_clock.advance(30)
    assert "door-open" not in client.printer_state()[1]
    rig_clock.advance(30)
    assert client.printer_state()[1] == ["toner-low"]
    job = client.print_job(make_pdf(1))
    assert finish(client, job.job_id).state == JobState.COMPLETED  # toner-low only warns


def test_offline_printer_answers_nothing_until_back_online(
    printer: VirtualPrinter, client: IppClient
) -> None:
    printer.inject(Fault(FaultKind.OFFLINE))
    with pytest.raises(IppClientError, match="unreachable"):
        client.printer_state()
    printer.faults.go_online()
    assert client.printer_state()[0] == PrinterState.IDLE


def test_faults_from_data_and_bad_fault_data() -> None:
    fault = Fault.from_dict({"kind": "jam", "sheets": 3, "at": "2026-11-24T10:05:00+09:00"})
    assert fault.kind == FaultKind.JAM and fault.sheets == 3 and fault.at is not None
    with pytest.raises(FaultError, match="kind must be one of"):
        Fault.from_dict({"kind": "fire"})
    with pytest.raises(FaultError, match="paper-out needs"):
        Fault(FaultKind.PAPER_OUT)
    with pytest.raises(FaultError, match="jam needs"):
        Fault(FaultKind.JAM, sheets=0)


def test_output_tray_sensor_is_visible_over_ipp(printer: VirtualPrinter, client: IppClient) -> None:
    assert client.output_tray_sheets() == 0
    job = client.print_job(make_pdf(3), sides="two-sided-long-edge")
    finish(client, job.job_id)
    assert client.output_tray_sheets() == 2
    assert SHEETS_IN_TRAY_REASON in client.printer_state()[1]
    assert not printer.tray_empty()
    assert len(printer.take_sheets()) == 2
    assert client.output_tray_sheets() == 0
    assert client.printer_state()[1] == ["none"]


def test_cancel_a_blocked_job_then_cancel_again_is_not_possible(
    printer: VirtualPrinter, client: IppClient
) -> None:
    printer.inject(Fault(FaultKind.DOOR_OPEN))
    job = client.print_job(make_pdf(2))
    until(stopped(client, job.job_id))
    client.cancel_job(job.job_id)
    until(lambda: client.get_job(job.job_id).state == JobState.CANCELED)
    with pytest.raises(IppClientError) as info:
        client.cancel_job(job.job_id)
    assert info.value.status == Status.CLIENT_ERROR_NOT_POSSIBLE
    with pytest.raises(IppClientError) as missing:
        client.get_job(999)
    assert missing.value.status == Status.CLIENT_ERROR_NOT_FOUND


def test_receipts_go_to_their_own_printer_and_tray(
    printer: VirtualPrinter, client: IppClient, receipt_client: IppClient
) -> None:
    job = receipt_client.print_job(make_receipt_pdf())
    assert finish(receipt_client, job.job_id).state == JobState.COMPLETED
    assert printer.tray_empty()  # the certificate tray stays empty
    (receipt,) = printer.take_receipts()
    assert receipt.checks["size_ok"] and not receipt.checks["front_blank"]
    assert round(receipt.front.measure.width_mm) == 80
    with pytest.raises(IppClientError) as info:
        receipt_client.print_job(make_receipt_pdf(), sides="two-sided-long-edge")
    assert info.value.status == Status.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    wrong = receipt_client.print_job(make_pdf(1))
    finish(receipt_client, wrong.job_id)
    assert printer.take_receipts()[0].checks["size_ok"] is False


def test_retention_report_and_purge(printer: VirtualPrinter, client: IppClient) -> None:
    job = client.print_job(make_pdf(2), sides="two-sided-long-edge")
    finish(client, job.job_id)
    kept = printer.retained()
    assert len(kept.files) == 2 and kept.total_bytes > 2 * 2480 * 3508
    assert all(printer.certificate.capture_dir in p.parents for p in kept.files)
    assert printer.certificate.jobs[job.job_id].document is None  # no document kept (不保持)
    purged = printer.purge()
    assert purged.files == kept.files
    assert printer.retained().files == ()
    assert not any(p.exists() for p in kept.files)


def test_png_evidence_is_opt_in(
    rig_clock: RigClock, evidence: EvidenceStore, tmp_path: Path
) -> None:
    with VirtualPrinter(rig_clock, evidence, tmp_path / "cap", png_evidence=True) as vp:
        cl = IppClient(vp.uri)
        job = cl.print_job(make_pdf(1))
        finish(cl, job.job_id)
        pngs = [p for p in evidence.attachments() if p.suffix == ".png"]
        assert len(pngs) == 1 and pngs[0].read_bytes()[:4] == b"\x89PNG"
        assert pngs[0] in vp.retained().files
        vp.purge()
        assert not pngs[0].exists()

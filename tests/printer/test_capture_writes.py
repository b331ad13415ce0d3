"""Captured rasters are written after delivery, but nobody who reads or deletes them can
see them missing: take_sheets, retained, purge, wait_idle and stop wait for the writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emulators.printer import VirtualPrinter
from emulators.printer.render import read_pgm
from emulators.printer.samples import make_pdf
from rig.core.clock import RigClock
from rig.core.drivers.ipp_client import IppClient
from rig.core.evidence import EvidenceStore
from rig.core.protocols.ipp import JobState


def test_captures_are_complete_when_retained_and_gone_after_purge(
    printer: VirtualPrinter, client: IppClient
) -> None:
    for _ in range(3):  # purge at once after each job: no write may land after the purge
        job = client.print_job(make_pdf(2), sides="two-sided-long-edge")
        assert client.wait_for_job(job.job_id, timeout=30).state == JobState.COMPLETED
        kept = printer.retained()
        assert len(kept.files) == 2
        assert all(p.stat().st_size > 2480 * 3508 for p in kept.files)
        purged = printer.purge()
        assert purged.files == kept.files
        assert not any(p.exists() for p in kept.files)
        (sheet,) = printer.take_sheets()
        assert sheet.front.path is not None and not sheet.front.path.exists()
    job = client.print_job(make_pdf(2), sides="two-sided-long-edge")
    client.wait_for_job(job.job_id, timeout=30)
    (sheet,) = printer.take_sheets()
    for side in (sheet.front, sheet.back):
        assert side is not None and side.path is not None
        assert np.array_equal(read_pgm(side.path.read_bytes()), side.pixels)


def test_a_capture_that_cannot_be_written_is_recorded(
    rig_clock: RigClock, evidence: EvidenceStore, tmp_path: Path
) -> None:
    capture = tmp_path / "capture"
    # the front's capture file is taken by a folder: its write fails, the sheet is delivered
    (capture / "print" / "job-0001" / "sheet-001-front.pgm").mkdir(parents=True)
    with VirtualPrinter(rig_clock, evidence, capture, port=0) as printer:
        client = IppClient(printer.uri, timeout=15)
        job = client.print_job(make_pdf(2), sides="two-sided-long-edge")
        assert client.wait_for_job(job.job_id, timeout=30).state == JobState.COMPLETED
        assert printer.wait_idle(30)
        (sheet,) = printer.take_sheets()
        assert sheet.back is not None and sheet.back.path is not None
        assert sheet.back.path.is_file()
    failed = [r for r in evidence.records("printer-print") if r["event"] == "capture-failed"]
    assert len(failed) == 1 and "IsADirectoryError" in failed[0]["error"]

"""Virtual printer benchmark: duplex capture throughput and Print-Job latency over IPP.

- sheets_captured_per_s: a 20-page duplex job (10 sheets, 300 dpi), sheets per second
  from Print-Job to the last sheet in the tray.
- print_job_2_pages_ms / print_job_10_pages_ms: Print-Job (duplex) to the last sheet
  captured, median of 5 runs, over a real loopback socket.
Captures are raw gray rasters; PNG evidence is off, as in scenario runs by default.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from emulators.printer import VirtualPrinter
from emulators.printer.samples import make_pdf
from rig.core.clock import RigClock
from rig.core.drivers.ipp_client import IppClient
from rig.harness.bench import Figure


def _until_sheets(printer: VirtualPrinter, sheets: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while printer.certificate.tray.count < sheets:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {printer.certificate.tray.count} of {sheets} sheets")
        time.sleep(0.001)


def _job_ms(printer: VirtualPrinter, client: IppClient, pdf: bytes, sheets: int) -> float:
    started = time.perf_counter()
    client.print_job(pdf, sides="two-sided-long-edge")
    _until_sheets(printer, sheets)
    elapsed = (time.perf_counter() - started) * 1000
    printer.take_sheets()
    printer.purge()
    return elapsed


def measure() -> list[Figure]:
    two, ten, twenty = make_pdf(2), make_pdf(10), make_pdf(20)
    with (
        tempfile.TemporaryDirectory(prefix="rig-bench-printer-") as tmp,
        VirtualPrinter(RigClock(), None, Path(tmp)) as printer,
    ):
        client = IppClient(printer.uri, timeout=60)
        _job_ms(printer, client, two, 1)  # warm up libgs
        two_ms = statistics.median(_job_ms(printer, client, two, 1) for _ in range(5))
        ten_ms = statistics.median(_job_ms(printer, client, ten, 5) for _ in range(5))
        twenty_ms = statistics.median(_job_ms(printer, client, twenty, 10) for _ in range(3))
    return [
        Figure("printer.sheets_captured_per_s", 10 / (twenty_ms / 1000), "sheets/s"),
        Figure("printer.print_job_2_pages_ms", two_ms, "ms"),
        Figure("printer.print_job_10_pages_ms", ten_ms, "ms"),
    ]

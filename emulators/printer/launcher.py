"""`VirtualPrinter`: the certificate printer and the receipt printer behind one IPP server.

printer = VirtualPrinter(clock, evidence, capture_dir, port=0)
endpoints = printer.start()   # {"ipp_uri": ..., "ipp_receipt_uri": ...}
...
printer.stop()
"""

from __future__ import annotations

from pathlib import Path

from emulators.printer.faults import Fault, FaultControl
from emulators.printer.ipp_service import IppService
from emulators.printer.model import PrinterDevice, RetentionReport
from emulators.printer.profiles import CERTIFICATE, RECEIPT
from emulators.printer.server import IppHttpServer
from emulators.printer.sheets import Sheet
from rig.core import transport
from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.netaddr import DEFAULT_LISTEN, url_host
from rig.core.party import PartyHealth, served_health


class VirtualPrinter:
    """The kiosk's printers as the rig plays them (仮想プリンタ)."""

    def __init__(
        self,
        clock: RigClock,
        evidence: EvidenceStore | None,
        capture_dir: Path,
        port: int = 0,
        *,
        dpi: int = 300,
        png_evidence: bool = False,
        host: str = DEFAULT_LISTEN,
    ):
        self.clock = clock
        self.host = host
        self.evidence = evidence
        self.port = port
        self.certificate, self.receipt = (
            PrinterDevice(profile, clock, evidence, capture_dir, dpi=dpi, png_evidence=png_evidence)
            for profile in (CERTIFICATE, RECEIPT)
        )
        self.faults = FaultControl(self.certificate, clock)
        self.receipt_faults = FaultControl(self.receipt, clock)
        self.service = IppService([self.certificate, self.receipt])
        self._server: transport.HttpServer | None = None

    @property
    def uri(self) -> str:
        return f"{self.service.base_uri}{CERTIFICATE.resource}"

    @property
    def receipt_uri(self) -> str:
        return f"{self.service.base_uri}{RECEIPT.resource}"

    def start(self) -> dict[str, str]:
        if self._server is None:
            self._server = IppHttpServer(self.port, self.service, self.evidence, self.host).server
            self._server.start()
            self.port = self._server.port
            self.service.base_uri = f"ipp://{url_host(self.host)}:{self.port}"
            self.service.http_base = f"http://{url_host(self.host)}:{self.port}"
            self.certificate.start()
            self.receipt.start()
        return {"ipp_uri": self.uri, "ipp_receipt_uri": self.receipt_uri}

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.certificate.stop()
        self.receipt.stop()

    def health(self) -> PartyHealth:
        if self._server is None:
            return PartyHealth.down("not started, or stopped")
        return served_health(self._server)

    def __enter__(self) -> VirtualPrinter:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what a scenario does with a printer -------------------------------------------------
    def inject(self, fault: Fault) -> None:
        """Apply (or schedule, if `fault.at` is set) a fault on the certificate printer."""
        self.faults.schedule(fault)

    def tray_empty(self) -> bool:
        return self.certificate.tray.is_empty()

    def take_sheets(self) -> list[Sheet]:
        return self.certificate.take_sheets()

    def take_receipts(self) -> list[Sheet]:
        return self.receipt.take_sheets()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        return self.certificate.wait_idle(timeout) and self.receipt.wait_idle(timeout)

    def retained(self) -> RetentionReport:
        return _both(self.certificate.retained(), self.receipt.retained())

    def purge(self) -> RetentionReport:
        return _both(self.certificate.purge(), self.receipt.purge())


def _both(*reports: RetentionReport) -> RetentionReport:
    return RetentionReport(
        tuple(p for r in reports for p in r.files), sum(r.total_bytes for r in reports)
    )

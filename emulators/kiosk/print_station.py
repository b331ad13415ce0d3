"""The kiosk's print path: certificates (A4, duplex) and receipts over IPP, and the tray sensor.

Certificates are sent as the centre delivers them (pages already A4, A5 content already
centred by the centre's processing stage) with `sides=two-sided-long-edge` (seed I.4.1 (8)).
The PDF is held in memory only and handed to the printer; nothing is written to disk.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from rig.core.drivers.ipp_client import IppClient, IppClientError, JobInfo

GOTHIC = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")
RECEIPT_WIDTH_MM = 80
RECEIPT_HEIGHT_MM = 120
#: Job reasons that mean "stopped until staff act" (the kiosk gives up on its time-out).
STOPPED_REASONS = frozenset({"media-empty", "media-needed", "media-jam", "door-open"})


@dataclass(frozen=True)
class ReceiptLine:
    label: str
    value: str


class PrintStation:
    #: Both sides, so the anti-forgery back prints (seed I.4.1 (8)).
    certificate_sides = "two-sided-long-edge"

    def __init__(self, certificate_uri: str, receipt_uri: str | None, *, timeout: float = 15.0):
        self.certificates = IppClient(certificate_uri, timeout=timeout, user="kiosk")
        self.receipts = IppClient(receipt_uri or certificate_uri, timeout=timeout, user="kiosk")

    def print_certificate(self, pdf: bytes, copies: int) -> int:
        self.cancel_leftover_jobs()
        job = self.certificates.print_job(
            pdf, sides=self.certificate_sides, copies=copies, job_name="certificate"
        )
        return job.job_id

    def job(self, job_id: int) -> JobInfo:
        return self.certificates.get_job(job_id)

    def cancel(self, job_id: int) -> None:
        # already ended, or the printer is gone: nothing left to stop
        with contextlib.suppress(IppClientError):
            self.certificates.cancel_job(job_id)

    def cancel_leftover_jobs(self) -> None:
        """Cancel every job still pending on the certificate printer before a new one.

        A job the kiosk gave up on (a print time-out, a printer that went away before the
        cancel reached it) must never come out later for the next applicant (ISO-004, the
        宗像市 and 横浜市 incidents). The kiosk is the printer's only user, so any job not yet
        completed is a leftover. If the printer cannot say, nothing is printed (IppClientError).
        """
        for job in self.certificates.get_jobs("not-completed"):
            job_id = job.get("job-id")
            if isinstance(job_id, int):
                self.certificates.cancel_job(job_id)

    def sheets_in_tray(self) -> int:
        """The output-tray sensor (取り忘れ): sheets not yet taken; 0 if it cannot tell."""
        try:
            return self.certificates.output_tray_sheets() or 0
        except IppClientError:
            return 0

    def receipt_in_tray(self) -> int:
        try:
            return self.receipts.output_tray_sheets() or 0
        except IppClientError:
            return 0

    def print_receipt(self, lines: list[ReceiptLine], issued_at: datetime) -> int:
        pdf = render_receipt(lines, issued_at)
        job = self.receipts.print_job(pdf, sides="one-sided", job_name="receipt", fidelity=False)
        return job.job_id

    def receipt_job(self, job_id: int) -> JobInfo:
        return self.receipts.get_job(job_id)

    def receipt_printer_id(self) -> str | None:
        """The receipt printer's `printer-uuid` (RFC 8011 5.4.38): a printer that went away and
        came back, or another printer at the same address, answers another one. None if the
        printer cannot be reached or does not say."""
        try:
            value = self.receipts.get_printer_attributes("printer-uuid").get("printer-uuid")
        except IppClientError:
            return None
        return value if isinstance(value, str) else None


@lru_cache(maxsize=1)
def _font() -> str:
    name = "IPAexGothic"
    pdfmetrics.registerFont(TTFont(name, str(GOTHIC)))
    return name


def render_receipt(lines: list[ReceiptLine], issued_at: datetime) -> bytes:
    """領収書 on an 80 mm roll: no name, no address, no certificate content (seed I.1 (2))."""
    out = io.BytesIO()
    width, height = RECEIPT_WIDTH_MM * mm, RECEIPT_HEIGHT_MM * mm
    c = canvas.Canvas(out, pagesize=(width, height), invariant=True)
    font = _font()
    c.setFont(font, 14)
    c.drawCentredString(width / 2, height - 14 * mm, "領収書")
    c.setFont(font, 8)
    y = height - 24 * mm
    c.drawString(6 * mm, y, issued_at.strftime("%Y年%m月%d日 %H:%M"))
    for line in lines:
        y -= 6 * mm
        c.drawString(6 * mm, y, line.label)
        c.drawRightString(width - 6 * mm, y, line.value)
    y -= 10 * mm
    c.drawString(6 * mm, y, "上記の金額を証明書交付手数料として領収しました。")
    c.showPage()
    c.save()
    return out.getvalue()

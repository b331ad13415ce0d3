"""The kiosk's defect pack: one realistic defect per class, each a subclass of one part.

Cash, printing, privacy, statistics and isolation (the 横浜市 2023 and 宗像市 2023
incidents, notes/domain.md). Every class says what a correct kiosk does instead.
"""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter

from emulators.kiosk.cash_desk import CashDesk
from emulators.kiosk.centre_types import Issued
from emulators.kiosk.flow import KioskFlow
from emulators.kiosk.launcher import ReferenceKiosk
from emulators.kiosk.print_station import PrintStation
from emulators.kiosk.screens import NoticeCode
from rig.core.drivers.cctalk import PayoutResult
from rig.core.protocols.robot import HeldData

#: The shortfall of the short-change defect: one 10-yen coin.
SHORT_YEN = 10


# -- cash ----------------------------------------------------------------------------------
class _ShortChangeDesk(CashDesk):
    """Change is paid 10 yen short (a rounding slip), while the kiosk believes it paid all."""

    def pay_out(self, amount: int) -> PayoutResult:
        payment = self.payment
        is_change = payment is not None and amount == payment.change_due and amount > SHORT_YEN
        if not is_change:
            return super().pay_out(amount)
        paid = super().pay_out(amount - SHORT_YEN)
        return PayoutResult(paid.paid + SHORT_YEN, paid.unpaid)


class ShortChangeKiosk(ReferenceKiosk):
    cash_desk_class = _ShortChangeDesk


class _NoRefundFlow(KioskFlow):
    """A cancellation forgets the money already inserted: nothing is given back."""

    def _abort(
        self, code: NoticeCode | str, *, message: str | None = None, source: str = "kiosk"
    ) -> None:
        if self.cash.payment is not None:
            self.cash.payment.credit = 0
        super()._abort(code, message=message, source=source)


class NoRefundOnCancelKiosk(ReferenceKiosk):
    flow_class = _NoRefundFlow


# -- printing ------------------------------------------------------------------------------
class _SimplexStation(PrintStation):
    """Certificates go out one-sided: the anti-forgery back (seed I.4.1 (8)) is missing."""

    certificate_sides = "one-sided"


class SimplexKiosk(ReferenceKiosk):
    print_station_class = _SimplexStation


def _without_last_page(pdf: bytes) -> bytes:
    reader = PdfReader(io.BytesIO(pdf))
    if len(reader.pages) < 2:
        return pdf
    writer = PdfWriter()
    for page in reader.pages[:-1]:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class _DropsLastPageStation(PrintStation):
    """A multi-page certificate loses its last page on the way to the printer."""

    def print_certificate(self, pdf: bytes, copies: int) -> int:
        return super().print_certificate(_without_last_page(pdf), copies)


class DropsLastPageKiosk(ReferenceKiosk):
    print_station_class = _DropsLastPageStation


# -- privacy -------------------------------------------------------------------------------
class _KeepsDocumentFlow(KioskFlow):
    """The certificate is kept after the session (a "reprint" buffer); /held says so."""

    kept: bytes = b""

    def _report_completion(self, *, printed: bool) -> None:
        if self.txn is not None and self.txn.document is not None:
            self.kept = bytes(self.txn.document)
        super()._report_completion(printed=printed)

    def held(self) -> HeldData:
        held = super().held()
        if not self.kept:
            return held
        return held.model_copy(
            update={"documents": held.documents + 1, "document_bytes": len(self.kept)}
        )


class KeepsDocumentKiosk(ReferenceKiosk):
    flow_class = _KeepsDocumentFlow


# -- statistics ----------------------------------------------------------------------------
class _CountsSheetsFlow(KioskFlow):
    """The completion report counts sheets (pages × copies), not copies (通)."""

    def _copies_printed(self, issued: Issued) -> int:
        return issued.copies * max(1, (issued.pages + 1) // 2)


class CountsSheetsKiosk(ReferenceKiosk):
    flow_class = _CountsSheetsFlow


# -- isolation -----------------------------------------------------------------------------
class _KeepsJobStation(PrintStation):
    """横浜市 2023: when the print wait times out, only the wait is released: the job stays
    queued (no cancel, no sweep of leftovers) and comes out for the next applicant."""

    def cancel(self, job_id: int) -> None:
        return None

    def cancel_leftover_jobs(self) -> None:
        return None


class PrintTimeoutKeepsJobKiosk(ReferenceKiosk):
    print_station_class = _KeepsJobStation


class _PreviousDocumentStation(PrintStation):
    """宗像市 2023: a one-slot document buffer is printed before it is refilled, so every
    applicant but the first receives the previous applicant's certificate."""

    previous: bytes | None = None

    def print_certificate(self, pdf: bytes, copies: int) -> int:
        to_print = self.previous if self.previous is not None else pdf
        self.previous = pdf
        return super().print_certificate(to_print, copies)


class PreviousApplicantsDocumentKiosk(ReferenceKiosk):
    print_station_class = _PreviousDocumentStation

"""Printing and receipt: ⑬ printing → ⑭ take-your-things reminder → ⑮ receipt.

A print that fails after payment cancels the job and refunds the fee. The completion report
(`_report_completion`, and the count it reports, `_copies_printed`) is a seam the defect
variants override.
"""

from __future__ import annotations

import time

from emulators.kiosk.cash_desk import CashError
from emulators.kiosk.centre_types import CentreRefusal, CentreUnreachable, Issued
from emulators.kiosk.flow.ending import EndingPhase
from emulators.kiosk.print_station import STOPPED_REASONS, ReceiptLine
from emulators.kiosk.screens import NoticeCode
from rig.core.drivers.cctalk import PayoutResult
from rig.core.drivers.ipp_client import IppClientError
from rig.core.protocols.ipp import JobState
from rig.core.protocols.robot import ScreenId

#: Wall-clock spacing of printer and tray queries while waiting (device polling, not time-outs).
#: A query costs the printer about 1 ms; 20 ms keeps the wait after the job completes short
#: (10 ms on average) at a few dozen queries a print.
PRINTER_POLL_S = 0.02


class PrintingPhase(EndingPhase):
    """Prints the certificate, reports completion, waits for the trays, prints the receipt."""

    def _start_printing(self) -> None:
        txn = self.txn
        assert txn is not None and txn.issued is not None and txn.document is not None
        self._go(ScreenId.PRINTING)
        try:
            self.ui.print_job = self.printer.print_certificate(
                bytes(txn.document), txn.issued.copies
            )
        except IppClientError as exc:
            self.audit.record("print_failed", txn=txn.txn_id, error=str(exc.status))
            self._print_failed()
            return
        self.audit.record("print_started", txn=txn.txn_id, job_id=self.ui.print_job)
        self.ui.receipt_printer = self.printer.receipt_printer_id()

    def _poll_printing(self) -> None:
        txn = self.txn
        assert txn is not None and txn.issued is not None and txn.session is not None
        if self.ui.print_job is None or not self._printer_due():
            return
        try:
            info = self.printer.job(self.ui.print_job)
        except IppClientError:
            self.ui.printer_problem = "printer-unreachable"
            self._refresh()
            return
        if info.state is JobState.COMPLETED:
            txn.printed = True
            self.audit.record(
                "printed", txn=txn.txn_id, job_id=info.job_id, copies=txn.issued.copies
            )
            self._report_completion(printed=True)
            self.ui.tray_sheets = self.printer.sheets_in_tray()
            self.ui.card_on_reader = self._card_present()
            self._go(ScreenId.TAKE_REMINDER)
        elif info.state in (JobState.ABORTED, JobState.CANCELED):
            self.audit.record(
                "print_failed", txn=txn.txn_id, job_id=info.job_id, error=info.state.name
            )
            self._print_failed()
        else:
            problem = ",".join(sorted(set(info.reasons) & STOPPED_REASONS)) or None
            if problem != self.ui.printer_problem:
                self.ui.printer_problem = problem
                self._refresh()

    def _printer_due(self) -> bool:
        now = time.monotonic()
        if now < self.ui.next_printer_poll:
            return False
        self.ui.next_printer_poll = now + PRINTER_POLL_S
        return True

    def _report_completion(self, *, printed: bool) -> None:
        txn = self.txn
        assert txn is not None and txn.issued is not None and txn.session is not None
        try:
            copies = self._copies_printed(txn.issued) if printed else 0
            self.centre.complete(txn.session, txn.issued, printed, copies)
        except (CentreRefusal, CentreUnreachable) as exc:
            self.audit.record("completion_report_failed", txn=txn.txn_id, error=type(exc).__name__)
        # printed or not, the certificate data goes now (seed I.1 (2))
        txn.erase_document()
        txn.session = None

    def _copies_printed(self, issued: Issued) -> int:
        """How many copies (通) the completion report says were printed."""
        return issued.copies

    def _print_failed(self) -> None:
        """Printing failed after payment: stop the job, refund the fee, tell the centre."""
        txn = self.txn
        assert txn is not None
        if self.ui.print_job is not None:
            self.printer.cancel(self.ui.print_job)
        refund = txn.fee_collected
        try:
            result = self.cash.pay_out(refund)
        except CashError as exc:
            self.audit.record("cash_fault", txn=txn.txn_id, error=type(exc).__name__)
            result = PayoutResult(refund)
        self.audit.record(
            "refunded", txn=txn.txn_id, refund_yen=result.paid, unpaid_yen=result.unpaid
        )
        if txn.issued is not None and txn.session is not None:
            self._report_completion(printed=False)
        code = NoticeCode.PRINT_FAILED if result.complete else NoticeCode.REFUND_INCOMPLETE
        self._end_transaction(outcome="print_failed")
        self._notice(code, refund_yen=result.paid, unpaid_yen=result.unpaid or None)

    def _poll_take_reminder(self) -> None:
        if not self._printer_due():
            return
        self.ui.tray_sheets = self.printer.sheets_in_tray()
        self.ui.card_on_reader = self._card_present()
        self._refresh()
        if self.ui.tray_sheets == 0 and not self.ui.card_on_reader:
            self._go_receipt()

    def _go_receipt(self) -> None:
        txn = self.txn
        self._go(ScreenId.RECEIPT)
        if txn is None or txn.issued is None:
            return
        lines = [
            ReceiptLine("証明書", txn.issued.title),
            ReceiptLine("単価", f"{txn.issued.fee_per_copy}円"),
            ReceiptLine("部数", f"{txn.issued.copies}通"),
            ReceiptLine("手数料", f"{txn.issued.total_fee}円"),
            ReceiptLine("お預かり", f"{txn.credit}円"),
            ReceiptLine("お釣り", f"{self.ui.change_yen}円"),
            ReceiptLine("店舗", self.config.store_id),
            ReceiptLine("端末", self.config.kiosk_id),
            ReceiptLine("取引番号", txn.txn_id),
        ]
        if not self._receipt_printer_unchanged():
            # The printer this transaction printed on went away (or another one answers at its
            # address): a receipt printed now would lie in the next customer's tray.
            self.audit.record("receipt_skipped", txn=txn.txn_id, error="printer_replaced")
            self.ui.receipt_job = None
            return
        try:
            self.ui.receipt_job = self.printer.print_receipt(lines, self.clock.now())
        except IppClientError as exc:
            self.audit.record("receipt_failed", txn=txn.txn_id, error=str(exc.status))
            self.ui.receipt_job = None

    def _receipt_printer_unchanged(self) -> bool:
        before = self.ui.receipt_printer
        if before is None:  # a printer that never said who it is: nothing to compare
            return True
        return self.printer.receipt_printer_id() == before

    def _poll_receipt(self) -> None:
        if not self._printer_due():
            return
        if self.ui.receipt_job is None:
            self._finish("completed")
            return
        if not self.ui.receipt_printed:
            try:
                info = self.printer.receipt_job(self.ui.receipt_job)
            except IppClientError:
                return
            if not info.done:
                return
            self.ui.receipt_printed = True
            if info.state is not JobState.COMPLETED:
                self._finish("completed")
                return
        if self.printer.receipt_in_tray() == 0:
            self._finish("completed")

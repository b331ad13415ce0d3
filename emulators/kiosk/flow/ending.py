"""Ending a transaction: the notice screen, cancellation with refund, the return to ①.

Every phase can end here, so every phase builds on `EndingPhase`. `_abort` is a seam: a
defect variant (emulators/kiosk/defects) overrides it to forget the refund.
"""

from __future__ import annotations

from emulators.kiosk import screens as txt
from emulators.kiosk.cash_desk import CashError
from emulators.kiosk.centre_types import CentreRefusal, CentreUnreachable
from emulators.kiosk.flow.base import FlowBase
from emulators.kiosk.screens import NoticeCode
from emulators.kiosk.ui_state import Notice, UiState
from rig.core.protocols.robot import ScreenId


class EndingPhase(FlowBase):
    """Notices, aborts (refund, cancel at the centre, erase) and the normal finish."""

    def _notice(
        self,
        code: NoticeCode | str,
        *,
        message: str | None = None,
        source: str = "kiosk",
        refund_yen: int | None = None,
        unpaid_yen: int | None = None,
    ) -> None:
        self.ui.notice = Notice(
            str(code), message or txt.guidance(str(code)), source, refund_yen, unpaid_yen
        )
        self._go(ScreenId.NOTICE)

    def _abort_centre(self, exc: CentreRefusal | CentreUnreachable) -> None:
        """The centre (or the municipality behind it) said no, or did not answer."""
        if isinstance(exc, CentreUnreachable):
            self._abort(NoticeCode.CENTRE_UNREACHABLE)
            return
        self.audit.record(
            "refused", txn=self.txn.txn_id if self.txn else None, code=exc.code, source=exc.source
        )
        self._abort(exc.code, message=txt.guidance(exc.code, exc.message_ja), source=exc.source)

    def _abort(
        self, code: NoticeCode | str, *, message: str | None = None, source: str = "kiosk"
    ) -> None:
        """Cancel the transaction: give back any money, tell the centre, forget everything."""
        txn = self.txn
        refund: int | None = None
        unpaid: int | None = None
        if self.cash.payment is not None:
            try:
                self.cash.stop_accepting()
            except CashError as exc:
                # one acceptor's link may be dead; the money already credited still goes back
                self.audit.record("cash_fault", error=type(exc).__name__)
            try:
                credit = self.cash.payment.credit
                if credit:
                    result = self.cash.pay_out(credit)
                    refund, unpaid = result.paid, result.unpaid or None
                    self.audit.record(
                        "refunded",
                        txn=txn.txn_id if txn else None,
                        refund_yen=result.paid,
                        unpaid_yen=result.unpaid,
                    )
            except CashError as exc:
                self.audit.record("cash_fault", error=type(exc).__name__)
            self.cash.finish()
        if txn is not None and txn.session is not None:
            try:
                self.centre.end_session(txn.session)
            except (CentreRefusal, CentreUnreachable) as exc:
                self.audit.record("cancel_report_failed", txn=txn.txn_id, error=type(exc).__name__)
        self._close_card()
        self.stale_card = self._card_present()
        self._end_transaction(outcome=str(code))
        if unpaid:
            code, message = NoticeCode.REFUND_INCOMPLETE, None
        self._notice(code, message=message, source=source, refund_yen=refund, unpaid_yen=unpaid)

    def _end_transaction(self, outcome: str) -> None:
        txn = self.txn
        if txn is not None:
            txn.erase()
            self.audit.record("transaction_ended", txn=txn.txn_id, outcome=outcome)
        self.txn = None
        self.ui = UiState(notice=self.ui.notice)

    def _finish(self, outcome: str) -> None:
        txn = self.txn
        forgotten = list(self.ui.forgotten)
        if forgotten:
            self.audit.record("forgotten", txn=txn.txn_id if txn else None, items=forgotten)
        self._end_transaction(outcome)
        self.ui = UiState()
        self._go(ScreenId.CARD_HOLD)

    # -- notice ----------------------------------------------------------------------------
    def _tap_notice(self, option_id: str) -> None:
        if option_id == "ok":
            self.ui = UiState()
            self._go(ScreenId.CARD_HOLD)

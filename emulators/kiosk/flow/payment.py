"""Payment: ⑫ cash in until the fee is covered, the centre told, change paid out.

The fee is collected before printing (seed I.4.1 (7)); a centre that misses the payment
report learns the outcome at completion.
"""

from __future__ import annotations

from emulators.kiosk.cash_desk import CashError
from emulators.kiosk.centre_types import CentreRefusal, CentreUnreachable
from emulators.kiosk.flow.ending import EndingPhase


class PaymentPhase(EndingPhase):
    """Polls the cash desk on ⑫ and settles the fee; then hands over to printing."""

    def _poll_payment(self) -> None:
        txn = self.txn
        assert txn is not None and txn.issued is not None and txn.session is not None
        try:
            credit = self.cash.poll()
        except CashError as exc:
            self.audit.record("cash_fault", txn=txn.txn_id, error=type(exc).__name__)
            return
        faults = self.cash.payment.faults if self.cash.payment else []
        if len(faults) > self.ui.cash_faults_seen:
            self.audit.record(
                "cash_fault", txn=txn.txn_id, faults=faults[self.ui.cash_faults_seen :]
            )
            self.ui.cash_faults_seen = len(faults)
            self.ui.cash_fault = any(f.startswith("bill:") for f in faults)
            self._refresh()
        if credit != txn.credit:
            txn.credit = credit
            self._touch()  # money going in is activity
            self._refresh()
        if not credit >= txn.issued.total_fee:
            return
        self.cash.stop_accepting()
        txn.credit = self.cash.payment.credit if self.cash.payment else credit
        fee = txn.issued.total_fee
        txn.fee_collected = fee
        try:
            self.centre.confirm_payment(txn.session, txn.issued, fee)
        except (CentreRefusal, CentreUnreachable) as exc:
            # the document is here and paid for: the centre learns the outcome at completion
            self.audit.record("payment_report_failed", txn=txn.txn_id, error=type(exc).__name__)
        change = txn.credit - fee
        self.ui.change_yen = change
        if change > 0:
            try:
                self.ui.change_unpaid = self.cash.pay_out(change).unpaid
            except CashError as exc:
                self.audit.record("cash_fault", txn=txn.txn_id, error=type(exc).__name__)
                self.ui.change_unpaid = change
        self.audit.record(
            "paid",
            txn=txn.txn_id,
            fee_yen=fee,
            paid_yen=txn.credit,
            change_yen=change,
            unpaid_yen=self.ui.change_unpaid,
        )
        self.cash.finish()
        self._start_printing()

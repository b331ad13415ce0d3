"""The reference kiosk's state machine: the seed's screens in the seed's order (I.4.1–I.4.4).

One `KioskFlow` runs in the kiosk engine's thread only: robot actions, rig-clock time-outs
and device polling all arrive there in order, so the flow needs no locks. Every screen
change is published as a `ScreenView` and appended to the history.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from emulators.kiosk import card_apps
from emulators.kiosk import screens as txt
from emulators.kiosk.audit import AuditLog
from emulators.kiosk.card_apps import CardFacts, CardRefused, PinState
from emulators.kiosk.card_reader import CardConnection, CardIOError, CardReader
from emulators.kiosk.cash_desk import CashDesk, CashError
from emulators.kiosk.centre_types import (
    CentrePort,
    CentreRefusal,
    CentreUnreachable,
)
from emulators.kiosk.config import KioskConfig
from emulators.kiosk.print_station import (
    STOPPED_REASONS,
    PrintStation,
    ReceiptLine,
    job_failed,
    job_stopped,
)
from emulators.kiosk.screens import NoticeCode
from emulators.kiosk.transaction import Transaction
from emulators.kiosk.ui_state import Notice, UiState
from emulators.kiosk.views import PIN_LENGTH, render
from rig.clock import RigClock
from rig.drivers.cctalk import PayoutResult
from rig.drivers.ipp_client import IppClientError
from rig.protocols.ipp import JobState
from rig.protocols.robot import (
    HeldData,
    HistoryEntry,
    Method,
    RobotError,
    ScreenId,
)

#: Wall-clock spacing of printer and tray queries while waiting (device polling, not time-outs).
PRINTER_POLL_S = 0.05


class RobotActionError(Exception):
    def __init__(self, code: RobotError, detail: str, status: int):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status


class KioskFlow:
    def __init__(
        self,
        clock: RigClock,
        config: KioskConfig,
        reader: CardReader,
        cash: CashDesk,
        printer: PrintStation,
        centre: CentrePort,
        audit: AuditLog,
        arm_timeout: Callable[[float, int], None],
    ):
        self.clock = clock
        self.config = config
        self.reader = reader
        self.cash = cash
        self.printer = printer
        self.centre = centre
        self.audit = audit
        self._arm_timeout = arm_timeout
        self.seq = 0
        self.screen = ScreenId.CARD_HOLD
        self.history: list[HistoryEntry] = []
        self.txn: Transaction | None = None
        self.conn: CardConnection | None = None
        self.stale_card = False
        self.force_card_ap = False
        self.ui = UiState()
        self._timer = 0
        self.view = render(self)
        self._go(ScreenId.CARD_HOLD)

    # == publishing ========================================================================
    @property
    def method(self) -> Method | None:
        return self.txn.method if self.txn else None

    def _go(self, screen: ScreenId) -> None:
        self.screen = screen
        self._timer += 1
        timeout = self.config.timeouts.get(screen)
        if timeout:
            self._arm_timeout(timeout, self._timer)
        self.seq += 1
        self.view = render(self)
        code = self.ui.notice.code if screen is ScreenId.NOTICE and self.ui.notice else None
        self.history.append(
            HistoryEntry(
                seq=self.seq,
                screen=screen,
                seed_number=self.view.seed_number,
                method=self.method,
                at=self.clock.now().isoformat(),
                code=code,
            )
        )
        self.audit.record(
            "screen",
            screen=screen.value,
            seed_number=self.view.seed_number,
            txn=self.txn.txn_id if self.txn else None,
            code=code,
        )

    def _refresh(self) -> None:
        view = render(self)
        if view.model_dump(exclude={"seq"}) != self.view.model_dump(exclude={"seq"}):
            self.seq += 1
            self.view = view.model_copy(update={"seq": self.seq})

    def _touch(self) -> None:
        """Customer activity: restart the screen's inactivity time-out."""
        self._timer += 1
        timeout = self.config.timeouts.get(self.screen)
        if timeout:
            self._arm_timeout(timeout, self._timer)

    def held(self) -> HeldData:
        if self.txn is None:
            return HeldData(documents=0, document_bytes=0, card_data=0)
        return self.txn.held()

    # == device helpers ====================================================================
    def _card_present(self) -> bool:
        try:
            return self.reader.present()
        except CardIOError:
            return False

    def _tray_sheets(self) -> int:
        return self.printer.sheets_in_tray()

    def _close_card(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):  # a vanished card must not stop the erasure
                self.conn.close()
            self.conn = None

    # == robot actions =====================================================================
    def tap(self, option_id: str) -> None:
        found = self.view.option(option_id)
        if self.view.busy:
            raise RobotActionError(RobotError.KIOSK_BUSY, f"{self.screen} is busy", 409)
        if found is None:
            raise RobotActionError(
                RobotError.OPTION_UNKNOWN, f"no option {option_id!r} on {self.screen}", 404
            )
        if not found.enabled:
            raise RobotActionError(
                RobotError.OPTION_DISABLED, f"option {option_id!r} is disabled", 409
            )
        self._touch()
        if option_id == "cancel":
            self._abort(NoticeCode.CANCELLED)
            return
        handler = getattr(self, f"_tap_{self.screen.value}", None)
        if handler is not None:
            handler(option_id)
        self._refresh()

    def keys(self, keys: str) -> None:
        if self.view.keypad is None:
            raise RobotActionError(RobotError.NO_KEYPAD, f"{self.screen} has no keypad", 409)
        self._touch()
        assert self.txn is not None
        if self.screen is ScreenId.PIN:
            for key in keys:
                if key == "C":
                    self.txn.clear_pin()
                elif key == "<":
                    if self.txn.pin:
                        self.txn.pin.pop()
                elif len(self.txn.pin) < PIN_LENGTH:
                    self.txn.pin.append(ord(key))
        elif self.screen is ScreenId.COPIES and self.txn.menu is not None:
            self._copies_keys(keys, self.txn.menu.max_copies)
        self._refresh()

    def _copies_keys(self, keys: str, max_copies: int) -> None:
        assert self.txn is not None
        value = self.txn.choice.copies
        for key in keys:
            if key == "C":
                value = 0
            elif key == "<":
                value //= 10
            else:
                value = value * 10 + int(key) if value < 10 else int(key)
        self.ui.copies_error = None
        if value > max_copies:
            self.ui.copies_error = txt.COPIES_LIMIT.format(max=max_copies)
            value = max_copies
        self.txn.choice.copies = max(value, 1) if value else 1

    # -- ① --------------------------------------------------------------------------------
    def _tap_card_hold(self, option_id: str) -> None:
        if option_id == "use_card_ap":
            self.force_card_ap = not self.force_card_ap

    # -- ③ --------------------------------------------------------------------------------
    def _tap_pin(self, option_id: str) -> None:
        assert self.txn is not None
        if option_id == "clear":
            self.txn.clear_pin()
        elif option_id == "ok":
            if self.method is Method.JPKI:
                self._jpki_pin_entered()
            else:
                self._card_ap_pin_entered()

    # -- ⑤ --------------------------------------------------------------------------------
    def _tap_certificate_choice(self, option_id: str) -> None:
        assert self.txn is not None
        self.txn.choice.cert_type = option_id
        if self.method is Method.CARD_AP and not self.txn.choice.pin_done:
            # card AP (seed I.4.3): the choice comes before the PIN, so before the menu
            self.ui.pin_error = None
            self.ui.pin_tries = None
            self._go(ScreenId.PIN)
            return
        self._begin_choice()

    def _begin_choice(self) -> None:
        """Set the choice's defaults from the menu and show the first input screen (⑥–⑨)."""
        assert self.txn is not None and self.txn.menu is not None
        choice = self.txn.choice
        items = self.txn.menu.items_of(choice.cert_type or "")
        usable = [i for i in items if i.available]
        if not usable:
            refused = items[0] if items else None
            code = (refused.refusal_code if refused else None) or "type_not_offered"
            message = refused.refusal_message if refused else None
            self._abort_refusal(CentreRefusal(code, message, source="municipality"))
            return
        choice.variant = usable[0].variant if len(items) == 1 else None
        choice.scope = "household" if "scope" in items[0].options else None
        choice.members = []
        choice.items = {
            name: name == "include_head_relationship"
            for name in txt.ITEM_LABELS
            if name in items[0].options
        }
        years = self.txn.menu.tax_years
        choice.fiscal_year = max(years) if "fiscal_year" in items[0].options and years else None
        choice.copies = 1
        self._go(self._steps()[0])

    def _steps(self) -> list[ScreenId]:
        """The input screens the current choice needs, in the seed's order (⑥–⑩)."""
        assert self.txn is not None and self.txn.menu is not None
        choice = self.txn.choice
        items = self.txn.menu.items_of(choice.cert_type or "")
        options = items[0].options if items else ()
        steps: list[ScreenId] = []
        if len(items) > 1 or "scope" in options:
            steps.append(ScreenId.ISSUANCE_TYPE)
        if choice.scope == "members":
            steps.append(ScreenId.HOUSEHOLD_SELECTION)
        if any(o.startswith("include_") or o == "fiscal_year" for o in options):
            steps.append(ScreenId.ITEMS)
        steps += [ScreenId.COPIES, ScreenId.CONFIRMATION]
        return steps

    def _next(self) -> None:
        steps = self._steps()
        index = steps.index(self.screen) if self.screen in steps else -1
        self._go(steps[min(index + 1, len(steps) - 1)])

    def _back(self) -> None:
        steps = self._steps()
        index = steps.index(self.screen) if self.screen in steps else 0
        self._go(steps[index - 1] if index > 0 else ScreenId.CERTIFICATE_CHOICE)

    # -- ⑥ ⑦ ⑧ ⑨ ------------------------------------------------------------------------
    def _tap_issuance_type(self, option_id: str) -> None:
        assert self.txn is not None
        choice = self.txn.choice
        if option_id == "next":
            self._next()
        elif option_id == "back":
            self._back()
        elif choice.scope is not None:
            choice.scope = option_id
        else:
            choice.variant = option_id

    def _tap_household_selection(self, option_id: str) -> None:
        assert self.txn is not None
        members = self.txn.choice.members
        if option_id == "next":
            self._next()
        elif option_id == "back":
            self._back()
        elif option_id.startswith("member:"):
            member = option_id.removeprefix("member:")
            if member in members:
                members.remove(member)
            else:
                members.append(member)

    def _tap_items(self, option_id: str) -> None:
        assert self.txn is not None
        choice = self.txn.choice
        if option_id == "next":
            self._next()
        elif option_id == "back":
            self._back()
        elif option_id.startswith("year:"):
            choice.fiscal_year = int(option_id.removeprefix("year:"))
        else:
            choice.items[option_id] = not choice.items.get(option_id, False)

    def _tap_copies(self, option_id: str) -> None:
        assert self.txn is not None and self.txn.menu is not None
        choice = self.txn.choice
        limit = self.txn.menu.max_copies
        self.ui.copies_error = None
        if option_id == "plus":
            choice.copies = min(choice.copies + 1, limit)
        elif option_id == "minus":
            choice.copies = max(choice.copies - 1, 1)
        elif option_id == "next":
            self._next()
        elif option_id == "back":
            self._back()

    # -- ⑩ → ⑪ → ⑫ ----------------------------------------------------------------------
    def _tap_confirmation(self, option_id: str) -> None:
        if option_id == "back":
            self._back()
        elif option_id == "apply":
            self._apply()

    def _apply(self) -> None:
        txn = self.txn
        assert txn is not None and txn.menu is not None and txn.session is not None
        item = txn.choice.item(txn.menu)
        if item is None:
            self._abort(NoticeCode.KIOSK_FAULT)
            return
        self._go(ScreenId.DOWNLOAD)
        try:
            issued = self.centre.request(
                txn.session,
                item,
                self._request_options(),
                txn.choice.copies,
                idempotency_key=f"{self.config.kiosk_id}-{txn.txn_id}-request",
            )
            txn.issued = issued
            txn.document = bytearray(self.centre.download(txn.session, issued))
        except CentreRefusal as exc:
            self._abort_refusal(exc)
            return
        except CentreUnreachable:
            self._abort(NoticeCode.CENTRE_UNREACHABLE)
            return
        self.audit.record(
            "downloaded",
            txn=txn.txn_id,
            type=item.type,
            variant=item.variant,
            copies=issued.copies,
            pages=issued.pages,
            fee_yen=issued.total_fee,
        )
        self.cash.start(issued.total_fee)
        self._go(ScreenId.PAYMENT)

    def _request_options(self) -> dict[str, object]:
        assert self.txn is not None
        choice = self.txn.choice
        options: dict[str, object] = {}
        if choice.scope is not None:
            options["scope"] = choice.scope
        if choice.scope == "members":
            options["members"] = list(choice.members)
        options.update(choice.items)
        if choice.fiscal_year is not None:
            options["fiscal_year"] = choice.fiscal_year
        return options

    # == card handling =====================================================================
    def _start_card(self) -> None:
        self._go(ScreenId.CARD_WAIT)
        self.stale_card = True  # whatever happens, this card must leave before the next one
        try:
            self.conn = self.reader.connect()
            facts = card_apps.probe(self.conn, self.clock.now())
        except CardIOError:
            self._close_card()
            self._notice(NoticeCode.CARD_UNREADABLE)
            return
        try:
            method = self._method_for(facts)
        except CardRefused as exc:
            self.audit.record("card_refused", code=exc.code.value, card_kind=facts.kind.value)
            self._close_card()
            self._notice(exc.code)
            return
        self.force_card_ap = False
        txn = Transaction(method, facts.kind)
        self.txn = txn
        if method is Method.JPKI and facts.jpki is not None:
            txn.auth_certificate = bytearray(facts.jpki.certificate)
        else:
            txn.card_ap = facts.card_ap
        self.audit.record(
            "transaction_started", txn=txn.txn_id, method=method.value, card_kind=facts.kind.value
        )
        try:
            txn.session = self.centre.open_session()
            if method is Method.JPKI:
                assert facts.jpki is not None
                if facts.jpki.pin is PinState.DEVICE:
                    self._jpki_authenticate(verified_on_device=True)
                else:
                    self.ui.pin_tries = facts.jpki.tries_left
                    self.ui.pin_error = None
                    self._go(ScreenId.PIN)
            else:
                self._card_ap_authenticate()
        except CentreRefusal as exc:
            self._abort_refusal(exc)
        except CentreUnreachable:
            self._abort(NoticeCode.CENTRE_UNREACHABLE)
        except CardIOError:
            self._abort(NoticeCode.CARD_REMOVED)

    def _method_for(self, facts: CardFacts) -> Method:
        if self.force_card_ap and facts.card_ap is not None:
            return Method.CARD_AP
        if facts.jpki is not None and facts.jpki_problem is None:
            return Method.JPKI
        if facts.card_ap is not None:
            return Method.CARD_AP
        if facts.jpki_problem is not None:
            raise CardRefused(facts.jpki_problem)
        raise CardRefused(NoticeCode.CARD_NOT_USABLE)

    def _jpki_pin_entered(self) -> None:
        txn = self.txn
        assert txn is not None and self.conn is not None
        pin = txn.pin.decode("ascii")
        txn.clear_pin()
        try:
            result = card_apps.verify_auth_pin(self.conn, pin)
        except CardIOError:
            self._abort(NoticeCode.CARD_REMOVED)
            return
        finally:
            del pin
        if result.locked:
            self.audit.record("pin_locked", txn=txn.txn_id, method=Method.JPKI.value)
            self._abort(NoticeCode.CARD_PIN_LOCKED)
            return
        if not result.ok:
            self.ui.pin_tries = result.tries_left
            self.ui.pin_error = txt.PIN_WRONG
            self.audit.record("pin_wrong", txn=txn.txn_id, tries_left=result.tries_left)
            return
        self._jpki_authenticate(verified_on_device=False)

    def _jpki_authenticate(self, *, verified_on_device: bool) -> None:
        txn = self.txn
        assert txn is not None and txn.session is not None and self.conn is not None
        assert txn.auth_certificate is not None
        try:
            signature = card_apps.sign_with_auth_key(
                self.conn,
                self.centre.digest_info(txn.session.nonce),
                select_ap=verified_on_device,
            )
            self.centre.authenticate_jpki(txn.session, bytes(txn.auth_certificate), signature)
        except CentreRefusal as exc:
            self._abort_refusal(exc)
            return
        except CentreUnreachable:
            self._abort(NoticeCode.CENTRE_UNREACHABLE)
            return
        except CardIOError:
            self._abort(NoticeCode.CARD_REMOVED)
            return
        self.audit.record("authenticated", txn=txn.txn_id, method=Method.JPKI.value)
        self._close_card()
        self._go(ScreenId.CARD_REMOVAL)

    def _card_ap_authenticate(self) -> None:
        txn = self.txn
        assert txn is not None and txn.session is not None and txn.card_ap is not None
        assert self.conn is not None
        challenge = self.centre.card_ap_challenge(txn.session, txn.card_ap)
        response = card_apps.card_ap_response(self.conn, challenge)
        self.centre.authenticate_card_ap(txn.session, challenge, response)
        self.audit.record("card_verified", txn=txn.txn_id, method=Method.CARD_AP.value)
        self._close_card()
        self._go(ScreenId.CARD_REMOVAL)

    def _card_ap_pin_entered(self) -> None:
        txn = self.txn
        assert txn is not None and txn.session is not None
        pin = txn.pin.decode("ascii")
        txn.clear_pin()
        try:
            self.centre.submit_pin(txn.session, pin)
        except CentreRefusal as exc:
            if exc.code == "pin_incorrect":
                self.ui.pin_tries = exc.tries_left
                self.ui.pin_error = txt.PIN_WRONG
                self.audit.record("pin_wrong", txn=txn.txn_id, tries_left=exc.tries_left)
                return
            self._abort_refusal(exc)
            return
        except CentreUnreachable:
            self._abort(NoticeCode.CENTRE_UNREACHABLE)
            return
        finally:
            del pin
        txn.choice.pin_done = True
        self.audit.record("authenticated", txn=txn.txn_id, method=Method.CARD_AP.value)
        if self._load_menu():
            self._begin_choice()

    def _card_removed(self) -> None:
        """④ (JPKI) / ③ (card AP) done: fetch the menu and show the certificate choice."""
        txn = self.txn
        assert txn is not None and txn.session is not None
        self.stale_card = False
        # the card has left: its certificate is no longer needed (不保持)
        if txn.auth_certificate is not None:
            txn.auth_certificate[:] = b"\x00" * len(txn.auth_certificate)
            txn.auth_certificate = None
        if txn.method is Method.JPKI and not self._load_menu():
            return
        self._go(ScreenId.CERTIFICATE_CHOICE)

    def _load_menu(self) -> bool:
        txn = self.txn
        assert txn is not None and txn.session is not None
        try:
            txn.menu = self.centre.menu(txn.session)
        except CentreRefusal as exc:
            self._abort_refusal(exc)
            return False
        except CentreUnreachable:
            self._abort(NoticeCode.CENTRE_UNREACHABLE)
            return False
        return True

    # == payment and printing ==============================================================
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
            self.ui.tray_sheets = self._tray_sheets()
            self.ui.card_on_reader = self._card_present()
            self._go(ScreenId.TAKE_REMINDER)
        elif job_failed(info):
            self.audit.record(
                "print_failed", txn=txn.txn_id, job_id=info.job_id, error=info.state.name
            )
            self._print_failed()
        else:
            problem = ",".join(sorted(set(info.reasons) & STOPPED_REASONS)) or None
            if not job_stopped(info):
                problem = None
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
            self.centre.complete(
                txn.session, txn.issued, printed, txn.issued.copies if printed else 0
            )
        except (CentreRefusal, CentreUnreachable) as exc:
            self.audit.record("completion_report_failed", txn=txn.txn_id, error=type(exc).__name__)
        # printed or not, the certificate data goes now (seed I.1 (2))
        txn.erase_document()
        txn.session = None

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
        self.ui.tray_sheets = self._tray_sheets()
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
        try:
            self.ui.receipt_job = self.printer.print_receipt(lines, self.clock.now())
        except IppClientError as exc:
            self.audit.record("receipt_failed", txn=txn.txn_id, error=str(exc.status))
            self.ui.receipt_job = None

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

    # == ending ============================================================================
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

    def _abort_refusal(self, exc: CentreRefusal) -> None:
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
                self.centre.cancel(txn.session)
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

    # == time-outs =========================================================================
    def timeout(self, token: int) -> None:
        if token != self._timer:
            return  # the screen changed or the customer acted since it was armed
        screen = self.screen
        self.audit.record("timeout", screen=screen.value, txn=self.txn.txn_id if self.txn else None)
        if screen is ScreenId.PRINTING:
            self._print_failed()
        elif screen is ScreenId.TAKE_REMINDER:
            if self._tray_sheets() > 0:
                self.ui.forgotten.append("certificate")
            if self._card_present():
                self.ui.forgotten.append("card")
                self.stale_card = True
            self._go_receipt()
        elif screen is ScreenId.RECEIPT:
            if self.printer.receipt_in_tray() > 0:
                self.ui.forgotten.append("receipt")
            self._finish("completed")
        elif screen is ScreenId.NOTICE:
            self.ui = UiState()
            self.stale_card = self.stale_card and self._card_present()
            self._go(ScreenId.CARD_HOLD)
        elif self.txn is not None or screen is ScreenId.CARD_WAIT:
            self._abort(NoticeCode.TIMEOUT)

    # == polling ===========================================================================
    def tick(self) -> None:
        s = self.screen
        if s is ScreenId.CARD_HOLD:
            present = self._card_present()
            if self.stale_card and not present:
                self.stale_card = False
                self._refresh()
            elif present and not self.stale_card:
                if self._tray_sheets() > 0 or self.printer.receipt_in_tray() > 0:
                    # another applicant's certificates (or receipt) lie in a tray: serve
                    # nobody until staff have cleared it, or the next customer would take
                    # them with their own (ISO-004)
                    self.stale_card = True
                    self._notice(NoticeCode.TRAY_NOT_EMPTY)
                else:
                    self._start_card()
        elif s is ScreenId.PIN and self.method is Method.JPKI:
            if not self._card_present():
                self._abort(NoticeCode.CARD_REMOVED)
        elif s is ScreenId.CARD_REMOVAL:
            if not self._card_present():
                self._card_removed()
        elif s is ScreenId.PAYMENT:
            self._poll_payment()
        elif s is ScreenId.PRINTING:
            self._poll_printing()
        elif s is ScreenId.TAKE_REMINDER:
            self._poll_take_reminder()
        elif s is ScreenId.RECEIPT:
            self._poll_receipt()
        elif s is ScreenId.NOTICE and self.stale_card and not self._card_present():
            self.stale_card = False
            self._refresh()

    def recover(self) -> None:
        """After an unexpected error: end any transaction safely (refund, erase, notice)."""
        txn = self.txn
        if txn is not None and txn.fee_collected and not txn.printed:
            self._print_failed()  # paid for and not printed: the fee goes back
        elif txn is not None or self.cash.payment is not None:
            self._abort(NoticeCode.KIOSK_FAULT)
        elif self.screen is ScreenId.CARD_WAIT:
            self._close_card()
            self._notice(NoticeCode.KIOSK_FAULT)

    # -- notice ----------------------------------------------------------------------------
    def _tap_notice(self, option_id: str) -> None:
        if option_id == "ok":
            self.ui = UiState()
            self._go(ScreenId.CARD_HOLD)


__all__ = ["KioskFlow", "RobotActionError"]

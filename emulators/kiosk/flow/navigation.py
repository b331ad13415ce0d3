"""The reference kiosk's state machine: the seed's screens in the seed's order (I.4.1–I.4.4).

One `KioskFlow` runs in the kiosk engine's thread only: robot actions, rig-clock time-outs
and device polling all arrive there in order, so the flow needs no locks. Every screen
change is published as a `ScreenView` and appended to the history.

This module routes each of them to the phase on screen; the phases live beside it (card,
choice, payment, printing, ending) on the shared state of `FlowBase`.
"""

from __future__ import annotations

from typing import Any

from emulators.kiosk.flow.card import CardPhase
from emulators.kiosk.flow.choice import ChoicePhase
from emulators.kiosk.flow.payment import PaymentPhase
from emulators.kiosk.flow.printing import PrintingPhase
from emulators.kiosk.screens import NoticeCode
from emulators.kiosk.ui_state import UiState
from rig.core.protocols.robot import Method, RobotError, ScreenId


class RobotActionError(Exception):
    """A request the kiosk refuses: the robot server answers it as a problem document
    (`extra` adds members to it); `code` is a `RobotError` or one of the server's own."""

    def __init__(self, code: RobotError | str, detail: str, status: int, **extra: Any):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status
        self.extra = extra


class KioskFlow(CardPhase, ChoicePhase, PaymentPhase, PrintingPhase):
    """The whole flow: robot actions, time-outs and polling routed to the screen's phase."""

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
        if option_id in ("next", "back"):
            self._walk(option_id)
        elif handler := getattr(self, f"_tap_{self.screen.value}", None):
            handler(option_id)
        self._refresh()

    def keys(self, keys: str) -> None:
        if self.view.keypad is None:
            raise RobotActionError(RobotError.NO_KEYPAD, f"{self.screen} has no keypad", 409)
        self._touch()
        assert self.txn is not None
        if self.screen is ScreenId.PIN:
            self._pin_keys(keys)
        elif self.screen is ScreenId.COPIES and self.txn.menu is not None:
            self._copies_keys(keys, self.txn.menu.max_copies)
        self._refresh()

    # == time-outs =========================================================================
    def timeout(self, token: int) -> None:
        if token != self._timer:
            return  # the screen changed or the customer acted since it was armed
        screen = self.screen
        self.audit.record("timeout", screen=screen.value, txn=self.txn.txn_id if self.txn else None)
        if screen is ScreenId.PRINTING:
            self._print_failed()
        elif screen is ScreenId.TAKE_REMINDER:
            if self.printer.sheets_in_tray() > 0:
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
            self.stale_card = self.stale_card and not self._stale_card_gone(self._card_present())
            self._go(ScreenId.CARD_HOLD)
        elif self.txn is not None or screen is ScreenId.CARD_WAIT:
            self._abort(NoticeCode.TIMEOUT)

    # == polling ===========================================================================
    def tick(self) -> None:
        s = self.screen
        if s is ScreenId.CARD_HOLD:
            present = self._card_present()
            if self.stale_card and self._stale_card_gone(present):
                self.stale_card = False
                self._refresh()
            elif present and not self.stale_card:
                if self.printer.sheets_in_tray() > 0 or self.printer.receipt_in_tray() > 0:
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
        elif (
            s is ScreenId.NOTICE and self.stale_card and self._stale_card_gone(self._card_present())
        ):
            self.stale_card = False
            self._refresh()
        elif poll := getattr(self, f"_poll_{s.value}", None):
            poll()  # payment, printing, take_reminder, receipt: the phases' own polling

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


__all__ = ["KioskFlow", "RobotActionError"]

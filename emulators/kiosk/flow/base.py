"""What every phase of the kiosk flow shares: its state, the screen it publishes, its devices.

`FlowBase` holds the transaction and the UI state, changes screen (`_go`: arms the screen's
time-out, renders the `ScreenView`, appends the history and the audit line) and asks the
devices the small questions every phase asks (is a card present).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable

from emulators.kiosk.audit import AuditLog
from emulators.kiosk.card_reader import CardConnection, CardIOError, CardReader
from emulators.kiosk.cash_desk import CashDesk
from emulators.kiosk.centre import CentreLink
from emulators.kiosk.config import KioskConfig
from emulators.kiosk.print_station import PrintStation
from emulators.kiosk.transaction import Transaction
from emulators.kiosk.ui_state import UiState
from emulators.kiosk.views import render
from rig.core.clock import RigClock
from rig.core.protocols.robot import HeldData, HistoryEntry, Method, ScreenId


class FlowBase(ABC):
    """The flow's state and publishing; each phase module adds its screens' behaviour."""

    def __init__(
        self,
        clock: RigClock,
        config: KioskConfig,
        reader: CardReader,
        cash: CashDesk,
        printer: PrintStation,
        centre: CentreLink,
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
        self._stale_card = False
        self._stale_events = 0
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
        self._touch()  # the new screen's inactivity time-out
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
        """Arm the screen's inactivity time-out afresh (a new screen, or customer activity)."""
        self._timer += 1
        timeout = self.config.timeouts.get(self.screen)
        if timeout:
            self._arm_timeout(timeout, self._timer)

    def held(self) -> HeldData:
        if self.txn is None:
            return HeldData(documents=0, document_bytes=0, card_data=0)
        return self.txn.held()

    # == device helpers ====================================================================
    @property
    def stale_card(self) -> bool:
        """A card that must leave the reader before the next one is served (the one just
        used, or one left behind)."""
        return self._stale_card

    @stale_card.setter
    def stale_card(self, stale: bool) -> None:
        if stale and not self._stale_card:
            self._stale_events = self.reader.events
        self._stale_card = stale

    def _stale_card_gone(self, present: bool) -> bool:
        """The stale card left: the reader is empty, or cards came and went since it was
        marked (taken away and another placed between two looks at the reader)."""
        return not present or self.reader.events != self._stale_events

    def _card_present(self) -> bool:
        try:
            return self.reader.present()
        except CardIOError:
            return False

    def _close_card(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):  # a vanished card must not stop the erasure
                self.conn.close()
            self.conn = None

    # == hand-overs between phases ========================================================
    @abstractmethod
    def _begin_choice(self) -> None:
        """Authentication done and the menu loaded: show the first choice screen (choice)."""

    @abstractmethod
    def _start_printing(self) -> None:
        """Paid: send the certificate to the printer (printing)."""

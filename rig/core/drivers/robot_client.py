"""The scenarios' hands on ANY kiosk: the robot protocol client and the `Customer` facade.

`RobotClient` speaks the customer-robot protocol (rig.core.protocols.robot, docs/kiosk-adapter.md)
to the reference kiosk or to a vendor's kiosk adapter. `Customer` adds the physical acts the
rig performs on its own emulators (a card on the reader, money into the cash unit, paper
out of the printer's trays), so that a scenario reads like a person at the kiosk:

    customer = Customer(robot, card_slot=slot, cash=unit.customer, printer=printer, clock=clock)
    customer.place_card(card)
    customer.wait_for(ScreenId.PIN)
    customer.enter_pin("1234")
    customer.remove_card()
    customer.choose("resident_record")
    ...

The physical parts are typed structurally (Protocols), so this module imports no emulator.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import partial
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel

from rig.core.clock import RigClock
from rig.core.drivers.kiosk_extensions import KioskExtensionsClient
from rig.core.evidence import EvidenceStore
from rig.core.https import answer_as
from rig.core.protocols.robot import (
    HeldData,
    History,
    HistoryEntry,
    Keys,
    KioskInfo,
    ScreenId,
    ScreenView,
    Tap,
)
from rig.core.steps import step
from rig.core.tls_default import default_client_context

#: Evidence channel of the customer's waits: how the kiosk's time-outs ran (rig clock,
#: test-mode time or real time), summarised per scenario in the report.
TIME_CHANNEL = "kiosk-time"


class RobotError(Exception):
    """The kiosk answered with a problem document; `code` is its stable code."""

    def __init__(self, status: int, problem: dict[str, Any]):
        self.status = status
        self.problem = problem
        self.code = str(problem.get("code", f"http_{status}"))
        super().__init__(f"{status} {self.code}: {problem.get('detail', '')}")


class RobotAnswerError(RobotError):
    """A success answer of the robot adapter that is not what docs/kiosk-adapter.md gives (not
    JSON, or not the documented shape): the kiosk under test breaks the protocol. The detail
    names the call and, for a wrong shape, each member at fault and why, never its value (an
    answer may hold what the customer keyed in)."""

    def __init__(self, status: int, detail: str):
        super().__init__(status, {"code": "unreadable_answer", "detail": detail})


M = TypeVar("M", bound=BaseModel)


class ScreenTimeout(AssertionError):
    """The awaited screen did not appear; carries the screen the kiosk shows instead."""

    def __init__(self, wanted: Iterable[ScreenId], last: ScreenView):
        self.wanted = list(wanted)
        self.last = last
        super().__init__(
            f"waited for {[w.value for w in self.wanted]}, kiosk shows {last.screen.value}: "
            f"{' / '.join(last.text)}"
        )


class RobotClient:
    """HTTP client of the robot protocol; `base_url` ends with the robot base path."""

    def __init__(self, base_url: str, *, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.base_url, timeout=timeout, verify=default_client_context()
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RobotClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, model: type[M], path: str, **params: Any) -> M:
        return self._answer(self.http.get(path, params=params or None), model)

    def _post(self, model: type[M], path: str, body: dict[str, Any]) -> M:
        return self._answer(self.http.post(path, json=body), model)

    @staticmethod
    def _answer(answer: httpx.Response, model: type[M]) -> M:
        if answer.is_error:
            try:
                problem = answer.json()
            except ValueError:
                problem = {}
            raise RobotError(answer.status_code, problem if isinstance(problem, dict) else {})
        return answer_as(answer, model, partial(RobotAnswerError, answer.status_code))

    # -- the protocol ----------------------------------------------------------------------
    def info(self) -> KioskInfo:
        return self._get(KioskInfo, "/info")

    def screen(self, *, after: int | None = None, wait: float = 0.0) -> ScreenView:
        params = {k: v for k, v in (("after", after), ("wait", wait or None)) if v is not None}
        return self._get(ScreenView, "/screen", **params)

    def history(self, since: int = 0) -> list[HistoryEntry]:
        return self._get(History, "/history", since=since).entries

    def tap(self, option: str) -> ScreenView:
        return self._post(ScreenView, "/tap", Tap(option=option).model_dump())

    def keys(self, keys: str) -> ScreenView:
        return self._post(ScreenView, "/keys", Keys(keys=keys).model_dump())

    def held(self) -> HeldData:
        return self._get(HeldData, "/held")

    def reset(self) -> ScreenView:
        """Abandon any transaction, reopen the kiosk's devices, show standby (`POST /reset`)."""
        return self._post(ScreenView, "/reset", {})

    def wait_for(self, *screens: ScreenId, timeout: float = 30.0) -> ScreenView:
        """Long-poll until one of `screens` shows (busy screens such as ⑬ included)."""
        deadline = time.monotonic() + timeout
        view = self.screen()
        while True:
            if view.screen in screens:
                return view
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ScreenTimeout(screens, view)
            view = self.screen(after=view.seq, wait=min(remaining, 5.0))


class CardSlot(Protocol):
    """The rig's card reader slot (rig.core.pcsc.VirtualCardSlot)."""

    def insert(self, card: Any, *, mute: bool = False, wait: bool = True) -> None: ...
    def remove(self, *, wait: bool = True) -> None: ...


class CashCustomer(Protocol):
    """The customer's side of the cash unit (emulators.cash.Customer)."""

    def begin(self, label: str | None = None) -> str: ...
    def insert_bill(self, yen: int, kind: Any = ...) -> Any: ...
    def insert_coin(self, yen: int, kind: Any = ...) -> Any: ...
    def take_change(self) -> list[Any]: ...
    def tray(self) -> list[Any]: ...


class PrinterTrays(Protocol):
    """The printer's output trays (emulators.printer.VirtualPrinter)."""

    def take_sheets(self) -> list[Any]: ...
    def take_receipts(self) -> list[Any]: ...
    def tray_empty(self) -> bool: ...


class Customer:
    """A person at the kiosk: screen actions through the robot, physical acts on the rig."""

    def __init__(
        self,
        robot: RobotClient,
        *,
        card_slot: CardSlot | None = None,
        cash: CashCustomer | None = None,
        printer: PrinterTrays | None = None,
        clock: RigClock | None = None,
        follows_rig_clock: bool | None = None,
        evidence: EvidenceStore | None = None,
    ):
        self.robot = robot
        self.evidence = evidence
        self._extensions: KioskExtensionsClient | None = None
        self.card_slot = card_slot
        self.cash = cash
        self.printer = printer
        self.clock = clock
        self._follows = follows_rig_clock
        self._timeouts: dict[str, float] | None = None
        self.certificates: list[Any] = []
        self.receipts: list[Any] = []
        self.change: list[Any] = []

    # -- looking -----------------------------------------------------------------------------
    def sees(self) -> ScreenView:
        return self.robot.screen()

    @step("waits for {screens}")
    def wait_for(self, *screens: ScreenId, timeout: float = 30.0) -> ScreenView:
        return self.robot.wait_for(*screens, timeout=timeout)

    # -- touching the screen -----------------------------------------------------------------
    @step("taps {option}")
    def tap(self, option: str) -> ScreenView:
        return self.robot.tap(option)

    @step("chooses {options}")
    def choose(self, *options: str) -> ScreenView:
        """Tap each option in turn (e.g. a certificate type, then 次へ)."""
        view = self.robot.screen()
        for option in options:
            view = self.robot.tap(option)
        return view

    @step("enters the PIN ({pin!len})")
    def enter_pin(self, pin: str, *, confirm: bool = True) -> ScreenView:
        self.robot.keys(pin)
        return self.robot.tap("ok") if confirm else self.robot.screen()

    @step("types {value}")
    def type_number(self, value: int) -> ScreenView:
        return self.robot.keys("C" + str(value))

    @step("taps cancel")
    def cancel(self) -> ScreenView:
        return self.robot.tap("cancel")

    # -- physical acts ---------------------------------------------------------------------
    @step("places the card")
    def place_card(self, card: Any, *, mute: bool = False) -> None:
        assert self.card_slot is not None, "this customer has no card slot"
        self.card_slot.insert(card, mute=mute)

    @step("takes the card back")
    def remove_card(self) -> None:
        assert self.card_slot is not None, "this customer has no card slot"
        self.card_slot.remove()

    def begin_cash(self, label: str | None = None) -> None:
        if self.cash is not None:
            self.cash.begin(label)

    @step("inserts a {yen}-yen bill")
    def insert_bill(self, yen: int, kind: Any = None) -> Any:
        return self._insert_bill(yen, kind)

    @step("inserts a {yen}-yen coin")
    def insert_coin(self, yen: int, kind: Any = None) -> Any:
        return self._insert_coin(yen, kind)

    def _insert_bill(self, yen: int, kind: Any = None) -> Any:
        assert self.cash is not None, "this customer has no cash unit"
        return self.cash.insert_bill(yen) if kind is None else self.cash.insert_bill(yen, kind)

    def _insert_coin(self, yen: int, kind: Any = None) -> Any:
        assert self.cash is not None, "this customer has no cash unit"
        return self.cash.insert_coin(yen) if kind is None else self.cash.insert_coin(yen, kind)

    @step("pays {amounts} yen")
    def pay(self, *amounts: int, settle: float = 10.0) -> None:
        """Insert bills (≥ 1000) and coins, each once the kiosk has taken the previous one."""
        for yen in amounts:
            deadline = time.monotonic() + settle
            while True:
                # retries while the acceptor is busy are one act of paying, not new steps
                outcome = self._insert_bill(yen) if yen >= 1000 else self._insert_coin(yen)
                if outcome.taken or time.monotonic() > deadline:
                    break
                time.sleep(0.02)  # the acceptor is still busy with the previous bill

    @step("takes the change")
    def take_change(self) -> list[Any]:
        assert self.cash is not None, "this customer has no cash unit"
        taken = self.cash.take_change()
        self.change.extend(taken)
        return taken

    @step("takes the certificates")
    def take_certificates(self) -> list[Any]:
        assert self.printer is not None, "this customer has no printer"
        sheets = self.printer.take_sheets()
        self.certificates.extend(sheets)
        return sheets

    def take_receipt(self) -> list[Any]:
        assert self.printer is not None, "this customer has no printer"
        receipts = self.printer.take_receipts()
        self.receipts.extend(receipts)
        return receipts

    # -- time --------------------------------------------------------------------------------
    def follows_rig_clock(self) -> bool:
        if self._follows is None:
            self._follows = self.robot.info().follows_rig_clock
        return self._follows

    def extensions(self) -> KioskExtensionsClient:
        """The kiosk's optional routes, as its `/info` declares them (docs/kiosk-adapter.md)."""
        if self._extensions is None:
            declared = self.robot.info().extensions
            self._extensions = KioskExtensionsClient(self.robot.http, declared)
        return self._extensions

    @step("stands still for {seconds} s")
    def wait(self, seconds: float) -> None:
        """Stand still for `seconds` of kiosk time: the rig clock, the kiosk's test-mode time
        (`POST /time`), or real time for a kiosk that keeps its own clock and declares no
        test-mode time (docs/kiosk-adapter.md); the rig's parties then age by the same
        `seconds` of rig time, so both sides stay in step. Each wait is recorded in the
        evidence (channel `kiosk-time`), from which the report says how time-outs ran."""
        if self.follows_rig_clock():
            assert self.clock is not None, "a kiosk on the rig clock needs the clock"
            self.clock.advance(seconds)
            self._record_wait("rig-clock", seconds)
            return
        if self.extensions().has_time:
            self.extensions().advance(seconds)
            self._record_wait("test-mode", seconds)
        else:
            time.sleep(seconds)
            self._record_wait("real-time", seconds)
        if self.clock is not None:
            self.clock.advance(seconds)

    def _record_wait(self, mode: str, seconds: float) -> None:
        if self.evidence is not None:
            self.evidence.record(TIME_CHANNEL, "wait", mode=mode, seconds=seconds)

    def timeout_of(self, screen: ScreenId) -> float:
        """The kiosk's inactivity time-out on `screen`, as its `/info` declares it."""
        if self._timeouts is None:
            self._timeouts = dict(self.robot.info().timeouts_s)
        try:
            return float(self._timeouts[screen.value])
        except KeyError:
            raise AssertionError(f"the kiosk declares no time-out for {screen.value}") from None

    def wait_out(self, screen: ScreenId) -> None:
        """Stand still until just past the kiosk's time-out on `screen`."""
        self.wait(self.timeout_of(screen) + 1)


__all__ = [
    "TIME_CHANNEL",
    "CardSlot",
    "CashCustomer",
    "Customer",
    "PrinterTrays",
    "RobotClient",
    "RobotError",
    "ScreenTimeout",
]

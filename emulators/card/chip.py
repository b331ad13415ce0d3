"""The virtual IC chip: ATR, power, application selection, class checks and the APDU trace.

`VirtualCard` is a vsmartcard-style `SmartcardOS` (getATR, powerUp, powerDown, reset,
execute), so the rig's reader stack (rig.core.pcsc) can insert it into a vpcd reader. Whatever
arrives, `execute` answers with a status word: malformed input gets the ISO 7816-4 answer a
real card gives, and an internal error becomes 6F 00 (recorded), never an exception.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from emulators.card.application import Application
from rig.core.evidence import EvidenceStore
from rig.core.protocols.apdu import (
    ATR_JPKI,
    INS_READ_BINARY,
    INS_SELECT,
    INS_VERIFY,
    SW,
    ApduFormatError,
    CommandAPDU,
    masked_command_hex,
    response,
)

MF_FID = b"\x3f\x00"
TRACE_CHANNEL = "card"


def _class_error(cla: int) -> int | None:
    """The status word for a class byte the card does not accept (None: accepted)."""
    if cla == 0x80:
        return None
    if cla & 0x80:
        return SW.CLA_NOT_SUPPORTED
    if cla & 0x60:  # further interindustry classes (40–7F): not offered
        return SW.CLA_NOT_SUPPORTED
    if cla & 0x10:
        return 0x6884  # command chaining not supported
    if cla & 0x0C:
        return SW.SECURE_MESSAGING_NOT_SUPPORTED
    if cla & 0x03:
        return SW.LOGICAL_CHANNEL_NOT_SUPPORTED
    return None


class VirtualCard:
    """One physical card (or smartphone secure element) with its applications."""

    def __init__(
        self,
        applications: Iterable[Application],
        *,
        atr: bytes = ATR_JPKI,
        label: str = "card",
        evidence: EvidenceStore | None = None,
    ):
        self.applications = {app.aid: app for app in applications}
        self.atr = bytes(atr)
        self.label = label
        self.evidence = evidence
        self.selected: Application | None = None
        self.powered = False
        self.commands = 0
        self.internal_errors = 0
        self._lock = threading.RLock()

    def application(self, name: str) -> Application:
        for app in self.applications.values():
            if app.name == name:
                return app
        raise KeyError(f"{self.label} has no application {name!r}")

    # -- SmartcardOS ---------------------------------------------------------------------
    def getATR(self) -> bytes:
        return self.atr

    def powerUp(self) -> None:
        self._power(True, "power_up")

    def powerDown(self) -> None:
        self._power(False, "power_down")

    def reset(self) -> None:
        self._power(True, "reset")

    def execute(self, msg: bytes) -> bytes:
        started = time.perf_counter()
        with self._lock:
            app_name = self.selected.name if self.selected else "MF"
            try:
                answer = self._execute(bytes(msg))
            except Exception as exc:  # the chip must answer, whatever the model did
                self.internal_errors += 1
                self._record("internal_error", error=type(exc).__name__)
                answer = response(SW.NO_PRECISE_DIAGNOSIS)
            self.commands += 1
            if self.evidence is not None:
                self._record(
                    "apdu",
                    app=app_name,
                    command=masked_command_hex(bytes(msg)),
                    sw=answer[-2:].hex().upper(),
                    # response bodies hold certificates and the My Number: length only
                    response_length=len(answer) - 2,
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                )
            return answer

    # -- internals -----------------------------------------------------------------------
    def _power(self, powered: bool, event: str) -> None:
        """Power on, off or a reset: the security state starts over either way."""
        with self._lock:
            self._clear_state()
            self.powered = powered
            self._record(event)

    def _clear_state(self) -> None:
        self.selected = None
        for app in self.applications.values():
            app.on_select()

    def _record(self, event: str, **data: object) -> None:
        if self.evidence is not None:
            self.evidence.record(TRACE_CHANNEL, event, card=self.label, **data)

    def _execute(self, msg: bytes) -> bytes:
        if len(msg) < 4:
            return response(SW.WRONG_LENGTH)
        cla_error = _class_error(msg[0])
        if cla_error is not None:
            return response(cla_error)
        if msg[1] & 0xF0 in (0x60, 0x90) or msg[1] & 0x01:
            # 6X/9X are procedure bytes, odd INS are BER-TLV forms: neither is offered
            return response(SW.INS_NOT_SUPPORTED)
        try:
            cmd = CommandAPDU.parse(msg)
        except ApduFormatError as exc:
            return response(exc.sw)
        if cmd.extended:
            return response(SW.WRONG_LENGTH)  # no extended length (not in the ATR either)
        if cmd.cla == 0x00 and cmd.ins == INS_SELECT and cmd.p1 in (0x00, 0x04):
            return self._select_df(cmd)
        if self.selected is not None:
            return self.selected.handle(cmd)
        return self._mf_command(cmd)

    def _select_df(self, cmd: CommandAPDU) -> bytes:
        if cmd.p2 not in (0x00, 0x0C):
            return response(SW.INCORRECT_P1P2)
        if not cmd.data:
            return response(SW.WRONG_LENGTH)
        if cmd.p1 == 0x00:
            if cmd.data != MF_FID:
                return response(SW.FILE_NOT_FOUND)
            self._clear_state()
            return response(SW.OK)
        app = self.applications.get(cmd.data)
        if app is None:
            return response(SW.FILE_NOT_FOUND)
        if self.selected is not None:
            self.selected.on_select()
        app.on_select()
        self.selected = app
        if cmd.p2 == 0x00:
            fci = b"\x84" + bytes((len(app.aid),)) + app.aid
            return response(SW.OK, b"\x6f" + bytes((len(fci),)) + fci)
        return response(SW.OK)

    def _mf_command(self, cmd: CommandAPDU) -> bytes:
        """Commands with no application selected: the MF holds nothing a kiosk may use."""
        if cmd.cla != 0x00:
            return response(SW.CLA_NOT_SUPPORTED)
        if cmd.ins == INS_SELECT:
            return response(SW.FILE_NOT_FOUND if cmd.p1 == 0x02 else SW.INCORRECT_P1P2)
        if cmd.ins in (INS_READ_BINARY, INS_VERIFY):
            return response(SW.COMMAND_NOT_ALLOWED_NO_EF)
        return response(SW.INS_NOT_SUPPORTED)

"""An application on the virtual card: its elementary files, PINs and common commands.

SELECT EF, READ BINARY and VERIFY behave the same in every application here; each
application adds its own instructions by overriding `handle_other`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from emulators.card.pin import PinMode, ReferenceData
from rig.core.protocols.apdu import (
    INS_READ_BINARY,
    INS_SELECT,
    INS_VERIFY,
    SW,
    CommandAPDU,
    response,
)


class EfKind(Enum):
    BINARY = "binary"
    PIN = "pin"
    KEY = "key"


@dataclass
class ElementaryFile:
    fid: int
    kind: EfKind = EfKind.BINARY
    data: bytes = b""
    #: FID of the PIN EF whose verification READ BINARY needs (None: always readable).
    read_pin: int | None = None


@dataclass
class Application:
    """Common behaviour; state is per card, so one instance per inserted card."""

    name: str
    aid: bytes
    files: dict[int, ElementaryFile] = field(default_factory=dict)
    pins: dict[int, ReferenceData] = field(default_factory=dict)
    current: ElementaryFile | None = None
    verified: set[int] = field(default_factory=set)

    def on_select(self) -> None:
        """SELECT of this application (or a reset): the security state starts over."""
        self.current = None
        self.verified.clear()

    def satisfied(self, pin_fid: int) -> bool:
        pin = self.pins.get(pin_fid)
        if pin is None:
            return False
        return pin.mode is PinMode.DEVICE or pin_fid in self.verified

    # -- dispatch ----------------------------------------------------------------------
    def handle(self, cmd: CommandAPDU) -> bytes:
        if cmd.cla == 0x00 and cmd.ins == INS_SELECT:
            return self.select_ef(cmd)
        if cmd.cla == 0x00 and cmd.ins == INS_READ_BINARY:
            return self.read_binary(cmd)
        if cmd.cla == 0x00 and cmd.ins == INS_VERIFY:
            return self.verify(cmd)
        return self.handle_other(cmd)

    def handle_other(self, cmd: CommandAPDU) -> bytes:
        if cmd.ins in (INS_SELECT, INS_READ_BINARY, INS_VERIFY):
            return response(SW.CLA_NOT_SUPPORTED)
        return response(SW.INS_NOT_SUPPORTED)

    # -- common commands ---------------------------------------------------------------
    def select_ef(self, cmd: CommandAPDU) -> bytes:
        if cmd.p1 != 0x02 or cmd.p2 != 0x0C:
            return response(SW.INCORRECT_P1P2)
        if cmd.le is not None:
            return response(SW.WRONG_LENGTH)
        if len(cmd.data) != 2:
            return response(SW.LC_INCONSISTENT_WITH_P1P2 if cmd.data else SW.WRONG_LENGTH)
        found = self.files.get(int.from_bytes(cmd.data, "big"))
        if found is None:
            return response(SW.FILE_NOT_FOUND)
        self.current = found
        return response(SW.OK)

    def read_binary(self, cmd: CommandAPDU) -> bytes:
        if cmd.p1 & 0x80:
            return response(SW.FUNCTION_NOT_SUPPORTED)  # short EF identifiers: not offered
        if cmd.data or cmd.le is None:
            return response(SW.WRONG_LENGTH)
        ef = self.current
        if ef is None:
            return response(SW.COMMAND_NOT_ALLOWED_NO_EF)
        if ef.kind is not EfKind.BINARY:
            return response(SW.COMMAND_INCOMPATIBLE)
        if ef.read_pin is not None and not self.satisfied(ef.read_pin):
            return response(SW.SECURITY_STATUS_NOT_SATISFIED)
        offset = cmd.p1p2
        if offset >= len(ef.data):
            return response(SW.WRONG_P1P2)
        chunk = ef.data[offset : offset + cmd.le]
        return response(SW.OK if len(chunk) == cmd.le else SW.END_OF_FILE, chunk)

    def verify(self, cmd: CommandAPDU) -> bytes:
        if cmd.p1 != 0x00 or cmd.p2 != 0x80:
            return response(SW.INCORRECT_P1P2)
        if cmd.le is not None:
            return response(SW.WRONG_LENGTH)
        ef = self.current
        if ef is None:
            return response(SW.COMMAND_NOT_ALLOWED_NO_EF)
        pin = self.pins.get(ef.fid)
        if ef.kind is not EfKind.PIN or pin is None:
            return response(SW.COMMAND_INCOMPATIBLE)
        if not cmd.data:
            return response(pin.status())
        sw = pin.verify(cmd.data)
        if sw == SW.OK:
            self.verified.add(ef.fid)
        else:
            self.verified.discard(ef.fid)
        return response(sw)

"""Host-side driver for a JCM ID-003 bill validator (the kiosk's side of the link).

Typical payment loop::

    bv = BillValidator.open("/dev/pts/5")          # or socket://..., rfc2217://...
    bv.reset(); bv.enable({1000, 2000, 5000, 10000})
    while True:
        event = bv.poll()
        if event and event.kind is BillEventKind.ESCROW:
            bv.stack() if can_pay_change(event.denomination) else bv.return_bill()
        elif event and event.kind is BillEventKind.CREDITED:
            credit(event.denomination)              # VEND VALID: the money is the kiosk's

`poll()` sends STATUS REQUEST, answers VEND VALID with ACK by itself and turns status
changes into `BillEvent`s. Serial errors and missing answers raise `BillValidatorError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

import serial

from rig.core.drivers.serial_line import SerialDriver
from rig.core.protocols import id003
from rig.core.protocols.id003 import Command, Frame, RejectReason, Status


class BillValidatorError(RuntimeError):
    """The acceptor did not answer, or answered something the protocol does not allow."""


class NoAnswer(BillValidatorError):
    """No complete, valid frame within the time-out (after retries)."""


class InvalidCommand(BillValidatorError):
    """The acceptor answered INVALID COMMAND (0x4B)."""


class BillEventKind(Enum):
    POWER_UP = "power_up"
    INITIALIZING = "initializing"
    IDLE = "idle"
    DISABLED = "disabled"
    ACCEPTING = "accepting"
    ESCROW = "escrow"
    HOLDING = "holding"
    STACKING = "stacking"
    CREDITED = "credited"  # VEND VALID: count the money now
    STACKED = "stacked"
    REJECTED = "rejected"
    RETURNING = "returning"
    ERROR = "error"


_KINDS: dict[Status, BillEventKind] = {
    Status.IDLING: BillEventKind.IDLE,
    Status.ACCEPTING: BillEventKind.ACCEPTING,
    Status.ESCROW: BillEventKind.ESCROW,
    Status.STACKING: BillEventKind.STACKING,
    Status.VEND_VALID: BillEventKind.CREDITED,
    Status.STACKED: BillEventKind.STACKED,
    Status.REJECTING: BillEventKind.REJECTED,
    Status.RETURNING: BillEventKind.RETURNING,
    Status.HOLDING: BillEventKind.HOLDING,
    Status.DISABLED: BillEventKind.DISABLED,
    Status.INITIALIZING: BillEventKind.INITIALIZING,
}


@dataclass(frozen=True)
class BillEvent:
    kind: BillEventKind
    status: Status
    denomination: int | None = None
    reason: RejectReason | int | None = None
    failure_code: int | None = None

    @property
    def error(self) -> Status | None:
        return self.status if self.kind is BillEventKind.ERROR else None


class BillValidator(SerialDriver):
    """A kiosk's handle on one ID-003 acceptor over any pyserial port or URL."""

    LINE: ClassVar[dict[str, Any]] = {
        "baudrate": id003.BAUDRATE,
        "bytesize": serial.EIGHTBITS,
        "parity": serial.PARITY_EVEN,
        "stopbits": serial.STOPBITS_ONE,
    }

    def __init__(self, port: serial.SerialBase, *, timeout: float = 0.3, retries: int = 2):
        super().__init__(port, timeout=timeout)
        self.retries = retries
        self.status: Status | None = None
        self.last_escrow: int | None = None
        self._decoder = id003.FrameDecoder()

    @classmethod
    def open(cls, url: str, *, timeout: float = 0.3, retries: int = 2) -> BillValidator:
        """Open a device path or pyserial URL at 9600 8E1."""
        return cls(cls._open_port(url, timeout), timeout=timeout, retries=retries)

    def reopen(self, url: str | None = None) -> None:
        """Open the port again (after the device or its link restarted), keeping what we knew.

        The escrowed denomination is kept so that a bill finished after a power loss
        (status 0x42, then VEND VALID) is still credited at its value.
        """
        super().reopen(url)
        self._decoder.clear()
        self.status = None

    # -- frames --------------------------------------------------------------------------
    def send(self, cmd: int, data: bytes = b"") -> None:
        """Send one frame and expect no answer (ACK after VEND VALID)."""
        self.port.write(id003.encode_frame(cmd, data))
        self.port.flush()

    def request(self, cmd: int, data: bytes = b"") -> Frame:
        """Send one frame and return the answer, repeating on silence (bad CRC, lost byte)."""
        raw = id003.encode_frame(cmd, data)
        for _attempt in range(self.retries + 1):
            self._decoder.clear()
            self.port.reset_input_buffer()
            self.port.write(raw)
            self.port.flush()
            frame = self._read_one(self._decoder.feed, Frame)
            if frame is not None:
                if frame.cmd == Status.INVALID_COMMAND:
                    raise InvalidCommand(f"acceptor refused command 0x{cmd:02X}")
                return frame
        raise NoAnswer(f"no answer to command 0x{cmd:02X} after {self.retries + 1} tries")

    # -- operations ------------------------------------------------------------------------
    def reset(self) -> None:
        self._expect_ack(self.request(Command.RESET))

    def enable(self, denominations: set[int] | frozenset[int] | None = None) -> None:
        """Accept bills (all four yen bills unless `denominations` narrows them)."""
        wanted = frozenset(denominations or id003.ESCROW_CODES)
        self._expect_echo(Command.SET_DENOMINATION, id003.denomination_mask(wanted))
        self._expect_echo(Command.SET_INHIBIT, b"\x00")

    def inhibit(self) -> None:
        """Refuse bills (the acceptor reports DISABLED when idle)."""
        self._expect_echo(Command.SET_INHIBIT, b"\x01")

    def stack(self) -> None:
        self._expect_ack(self.request(Command.STACK_1))

    def return_bill(self) -> None:
        self._expect_ack(self.request(Command.RETURN))

    def hold(self) -> None:
        self._expect_ack(self.request(Command.HOLD))

    def version(self) -> str:
        return self.request(Command.GET_VERSION).data.decode("ascii", "replace")

    def poll(self) -> BillEvent | None:
        """One STATUS REQUEST; an event when the status changed (or was an error/power-up)."""
        frame = self.request(Command.STATUS_REQUEST)
        try:
            status = Status(frame.cmd)
        except ValueError:
            raise BillValidatorError(f"unknown status 0x{frame.cmd:02X}") from None
        event = self._event(status, frame.data)
        if status == Status.VEND_VALID:
            self.send(Command.ACK)
        changed = status != self.status or status == Status.REJECTING
        self.status = status
        return event if changed else None

    def _event(self, status: Status, data: bytes) -> BillEvent:
        if status in id003.POWER_UP_STATUSES:
            return BillEvent(BillEventKind.POWER_UP, status)
        if status in id003.ERROR_STATUSES:
            code = data[0] if status == Status.FAILURE and data else None
            return BillEvent(BillEventKind.ERROR, status, failure_code=code)
        kind = _KINDS.get(status)
        if kind is None:
            raise BillValidatorError(f"status {status.name} is not a poll answer")
        if status == Status.ESCROW:
            if len(data) != 1 or data[0] not in id003.DENOMINATIONS:
                raise BillValidatorError(f"escrow with unknown code {data.hex()}")
            self.last_escrow = id003.DENOMINATIONS[data[0]]
            return BillEvent(kind, status, denomination=self.last_escrow)
        if status in (Status.VEND_VALID, Status.STACKED):
            return BillEvent(kind, status, denomination=self.last_escrow)
        if status == Status.REJECTING:
            reason: RejectReason | int | None = data[0] if data else None
            if reason is not None and reason in RejectReason._value2member_map_:
                reason = RejectReason(reason)
            return BillEvent(kind, status, reason=reason)
        return BillEvent(kind, status)

    def wait_for(self, *kinds: BillEventKind, max_polls: int = 50) -> BillEvent:
        """Poll until an event of one of `kinds` arrives (errors end the wait too)."""
        for _ in range(max_polls):
            event = self.poll()
            if event is not None and (event.kind in kinds or event.kind is BillEventKind.ERROR):
                if event.kind is BillEventKind.STACKED:
                    self.last_escrow = None
                return event
        raise BillValidatorError(f"no {[k.value for k in kinds]} within {max_polls} polls")

    def _expect_ack(self, frame: Frame) -> None:
        if frame.cmd != Command.ACK:
            raise BillValidatorError(f"expected ACK, got 0x{frame.cmd:02X}")

    def _expect_echo(self, cmd: int, data: bytes) -> None:
        frame = self.request(cmd, data)
        if frame.cmd != cmd or frame.data != data:
            raise BillValidatorError(f"setting 0x{cmd:02X} not echoed: {frame}")

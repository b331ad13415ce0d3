"""Device model of the bill validator (紙幣識別機) speaking JCM ID-003.

The model is driven by the host's frames: each STATUS REQUEST reports the current status
and then moves the bill one step along (accepting → escrow, stacking → vend valid, ...).
The only time-out, the escrow hold (HOLD, 0x44), is measured on the rig clock. Where each
bill is lives in the audit ledger, so a power loss or a restart resumes from the books.
"""

from __future__ import annotations

from collections.abc import Callable

from emulators.cash import audit
from emulators.cash.audit import Ledger
from emulators.cash.faults import FaultCounters
from emulators.cash.money import Authenticity, Item
from rig.core.clock import RigClock
from rig.core.protocols import id003
from rig.core.protocols.id003 import Command, Frame, RejectReason, Status

#: How long HOLD keeps a bill in escrow before returning it (rig-clock seconds).
HOLD_TIMEOUT_S = 10.0
VERSION = b"KONBINI-RIG BV ID003 JPY V1.00"
BOOT_VERSION = b"KONBINI-RIG BOOT V1.00"
_VERSIONS: dict[int, bytes] = {Command.GET_VERSION: VERSION, Command.GET_BOOT_VERSION: BOOT_VERSION}

REJECT_REASONS: dict[Authenticity, RejectReason] = {
    Authenticity.COUNTERFEIT: RejectReason.MAGNETIC_PATTERN,
    Authenticity.FOREIGN: RejectReason.DENOMINATION_ASSESSING,
    Authenticity.DAMAGED: RejectReason.PHOTO_PATTERN,
}

_ESCROW_STATES = (Status.ESCROW, Status.HOLDING)


class BillValidatorModel:
    """One ID-003 acceptor with one cassette. Call under the cash unit's lock."""

    def __init__(
        self,
        ledger: Ledger,
        faults: FaultCounters,
        clock: RigClock,
        on_power_loss: Callable[[], None],
    ) -> None:
        self._ledger = ledger
        self._faults = faults
        self._clock = clock
        self._on_power_loss = on_power_loss
        self.powered = False
        self.state = Status.POWER_UP
        self.settings: dict[int, bytes] = {}
        self.inhibited = True
        self.enabled_yen: frozenset[int] = frozenset(id003.DENOMINATIONS.values())
        self.stacker_open = False
        self.acceptor_jammed = False
        self.stacker_jammed = False
        self.forced_error: tuple[Status, int] | None = None
        self._hold_since = 0.0
        self._stack_no = 0
        self._reject_reason = RejectReason.INSERTION
        self.power_on()

    # -- power ---------------------------------------------------------------------------
    def power_on(self) -> None:
        """Power up: the status tells the host whether a bill was caught inside."""
        self.powered = True
        # every setting all zeros, except that the acceptor powers up inhibited
        self.settings = {cmd: bytes(size) for cmd, size in id003.SETTING_DATA_LENGTH.items()}
        self.settings[Command.SET_INHIBIT] = b"\x01"
        self.inhibited = True
        self.enabled_yen = frozenset(id003.DENOMINATIONS.values())
        if self._ledger.contents(audit.STACKING):
            self.state = Status.POWER_UP_BILL_IN_STACKER
        elif self._ledger.contents(audit.ACCEPTOR):
            self.state = Status.POWER_UP_BILL_IN_ACCEPTOR
        else:
            self.state = Status.POWER_UP

    def power_off(self) -> None:
        self.powered = False

    # -- what is inside ------------------------------------------------------------------
    def _bill(self, place: str) -> Item | None:
        items = self._ledger.contents(place)
        return items[0] if items else None

    def cassette_count(self) -> int:
        return len(self._ledger.contents(audit.CASSETTE))

    def _settled(self) -> Status:
        """The state a quiet acceptor rests in, given its faults and what is inside."""
        if self.forced_error is not None:
            return self.forced_error[0]
        if self.acceptor_jammed:
            return Status.ACCEPTOR_JAM
        if self.stacker_jammed:
            return Status.STACKER_JAM
        if self.stacker_open:
            return Status.STACKER_OPEN
        if (bill := self._bill(audit.STACKING)) is not None:
            # a bill past the point of no return is always finished into the cassette
            self._ledger.move(bill, audit.STACKING, audit.CASSETTE, "stack completed")
            return Status.VEND_VALID
        if self._bill(audit.ACCEPTOR) is not None:
            return Status.RETURNING
        if self._faults.cassette_full(self.cassette_count()):
            return Status.STACKER_FULL
        return Status.DISABLED if self.inhibited else Status.IDLING

    def resettle(self) -> None:
        """Re-evaluate after an operator action, unless the host has not reset it yet."""
        settled = self.state in (Status.IDLING, Status.DISABLED)
        if self.powered and (settled or self.state in id003.ERROR_STATUSES):
            self.state = self._settled()

    # -- customer side -------------------------------------------------------------------
    def insert(self, item: Item) -> str:
        """A customer pushes a bill into the slot; returns what happened to it."""
        if not self.powered:
            return "refused: acceptor has no power"
        if self.state != Status.IDLING:
            return f"refused: acceptor is {self.state.name.lower()}"
        self._ledger.move(item, audit.CUSTOMER, audit.ACCEPTOR, "bill inserted")
        if self._faults.next_bill_jams():
            self.acceptor_jammed = True
        self.state = Status.ACCEPTING
        return "taken in"

    # -- host side -----------------------------------------------------------------------
    def handle(self, frame: Frame) -> bytes | None:
        """Answer one well-framed host command (None: no answer on the wire)."""
        if not self.powered:
            return None
        cmd = frame.cmd
        if cmd == Command.ACK:
            if self.state == Status.VEND_VALID and not frame.data:
                self.state = Status.STACKED
            return None
        if cmd in id003.SETTING_DATA_LENGTH:
            return self._setting(cmd, frame.data)
        if frame.data:  # no other command carries data
            return self._invalid()
        if cmd == Command.STATUS_REQUEST:
            return self._status_request()
        if cmd == Command.RESET:
            return self._reset()
        if cmd in (Command.STACK_1, Command.STACK_2, Command.RETURN, Command.HOLD, Command.WAIT):
            return self._escrow_command(cmd)
        if cmd in id003.SETTING_REQUESTS:
            return id003.encode_frame(cmd, self.settings[id003.SETTING_REQUESTS[cmd]])
        if cmd in _VERSIONS:
            return id003.encode_frame(cmd, _VERSIONS[cmd])
        return self._invalid()

    @staticmethod
    def _invalid() -> bytes:
        return id003.encode_frame(Status.INVALID_COMMAND)

    @staticmethod
    def _ack() -> bytes:
        return id003.encode_frame(Command.ACK)

    def _reset(self) -> bytes:
        # initialising settles the bill inside: one in the head is returned, one in the
        # stacker transport is finished into the cassette and reported as VEND VALID
        self.state = Status.INITIALIZING
        return self._ack()

    def _setting(self, cmd: int, data: bytes) -> bytes:
        if len(data) != id003.SETTING_DATA_LENGTH[cmd]:
            return self._invalid()
        self.settings[cmd] = bytes(data)
        if cmd == Command.SET_INHIBIT:
            self.inhibited = bool(data[0] & 0x01)
            if self.state in (Status.IDLING, Status.DISABLED):
                self.state = self._settled()
        elif cmd == Command.SET_DENOMINATION:
            self.enabled_yen = id003.enabled_denominations(data)
        return id003.encode_frame(cmd, data)

    def _escrow_command(self, cmd: int) -> bytes:
        if self.state not in _ESCROW_STATES:
            return self._invalid()
        if cmd in (Command.STACK_1, Command.STACK_2):
            bill = self._bill(audit.ACCEPTOR)
            assert bill is not None
            self._ledger.move(bill, audit.ACCEPTOR, audit.STACKING, "stack commanded")
            self._stack_no = self._faults.next_stack()
            self.state = Status.STACKING
        elif cmd == Command.RETURN:
            self.state = Status.RETURNING
        else:
            self._hold_since = self._clock.seconds()
            self.state = Status.HOLDING
        return self._ack()

    def _status_request(self) -> bytes:
        state = self.state
        data = b""
        if state == Status.HOLDING and self._clock.seconds() - self._hold_since >= HOLD_TIMEOUT_S:
            state = self.state = Status.RETURNING
        elif state == Status.ESCROW:
            bill = self._bill(audit.ACCEPTOR)
            assert bill is not None
            data = bytes((id003.ESCROW_CODES[bill.yen],))
        elif state == Status.REJECTING:
            data = bytes((self._reject_reason,))
        elif state == Status.FAILURE and self.forced_error is not None:
            data = bytes((self.forced_error[1],))
        reply = id003.encode_frame(state, data)
        self._advance(state)
        return reply

    def _advance(self, reported: Status) -> None:
        """Move one step after the host has seen `reported`."""
        if reported == Status.INITIALIZING:
            self.state = self._settled()
        elif reported == Status.ACCEPTING:
            self.state = self._assess()
        elif reported == Status.STACKING:
            if self._faults.stack_loses_power(self._stack_no):
                self.power_off()
                self._on_power_loss()
            elif self._faults.stack_jams(self._stack_no):
                self.stacker_jammed = True
                self.state = Status.STACKER_JAM
            else:
                self.state = self._settled()
        elif reported in (Status.REJECTING, Status.RETURNING):
            bill = self._bill(audit.ACCEPTOR)
            if bill is not None:
                reason = "rejected" if reported == Status.REJECTING else "returned"
                self._ledger.move(bill, audit.ACCEPTOR, audit.BEZEL, reason)
            self.state = self._settled()
        elif reported == Status.STACKED:
            self.state = self._settled()

    def _assess(self) -> Status:
        if self.acceptor_jammed:
            return Status.ACCEPTOR_JAM
        bill = self._bill(audit.ACCEPTOR)
        if bill is None:
            return self._settled()
        if bill.authenticity is not Authenticity.GENUINE:
            self._reject_reason = REJECT_REASONS[bill.authenticity]
            return Status.REJECTING
        if bill.yen not in self.enabled_yen:
            self._reject_reason = RejectReason.INHIBITED
            return Status.REJECTING
        return Status.ESCROW

    # -- operator side -------------------------------------------------------------------
    def clear_jams(self) -> list[str]:
        """Staff open the unit and clear jams: a bill in the head goes back to the slot."""
        done: list[str] = []
        if self.acceptor_jammed:
            self.acceptor_jammed = False
            bill = self._bill(audit.ACCEPTOR)
            if bill is not None:
                self._ledger.move(bill, audit.ACCEPTOR, audit.BEZEL, "acceptor jam cleared")
            done.append("acceptor jam")
            if self.state == Status.ACCEPTOR_JAM:
                self.state = self._settled()
        if self.stacker_jammed:
            self.stacker_jammed = False
            done.append("stacker jam")
            if self.state == Status.STACKER_JAM:
                self.state = self._settled()
        return done

"""The kiosk's IC card reader, through PC/SC (pyscard → pcscd), as on a physical kiosk.

The kiosk knows only a reader name. It never sees the rig's virtual card objects: a card is
whatever answers APDUs in that reader.
"""

from __future__ import annotations

from smartcard.scard import (
    SCARD_E_TIMEOUT,
    SCARD_PROTOCOL_T0,
    SCARD_PROTOCOL_T1,
    SCARD_S_SUCCESS,
    SCARD_SCOPE_USER,
    SCARD_SHARE_EXCLUSIVE,
    SCARD_STATE_MUTE,
    SCARD_STATE_PRESENT,
    SCARD_STATE_UNAWARE,
    SCARD_UNPOWER_CARD,
    SCardConnect,
    SCardDisconnect,
    SCardEstablishContext,
    SCardGetStatusChange,
    SCardReleaseContext,
    SCardTransmit,
)

from rig.core.protocols.apdu import ResponseAPDU


class CardIOError(RuntimeError):
    """The card cannot be talked to: absent, mute, pulled out, or a broken response."""


class CardReader:
    """One PC/SC reader, used by the kiosk's engine thread only."""

    def __init__(self, reader_name: str):
        self.reader_name = reader_name
        self._ctx: int | None = None
        #: pcsc-lite's count of card insertions and removals on this reader, as of the last
        #: `present()` (the upper 16 bits of dwEventState)
        self.events = 0

    def open(self) -> None:
        rv, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
        if rv != SCARD_S_SUCCESS:
            raise CardIOError(f"SCardEstablishContext failed: {rv:#x}")
        self._ctx = ctx

    def close(self) -> None:
        if self._ctx is not None:
            SCardReleaseContext(self._ctx)
            self._ctx = None

    def _context(self) -> int:
        if self._ctx is None:
            self.open()
        assert self._ctx is not None
        return self._ctx

    def present(self) -> bool:
        """Is something (a card, a mute card, a phone) on the reader right now?"""
        rv, states = SCardGetStatusChange(
            self._context(), 0, [(self.reader_name, SCARD_STATE_UNAWARE)]
        )
        if rv == SCARD_E_TIMEOUT:
            return False
        if rv != SCARD_S_SUCCESS:
            raise CardIOError(f"{self.reader_name}: SCardGetStatusChange failed: {rv:#x}")
        _, event_state, _ = states[0]
        self.events = (event_state >> 16) & 0xFFFF
        return bool(event_state & (SCARD_STATE_PRESENT | SCARD_STATE_MUTE))

    def connect(self) -> CardConnection:
        rv, handle, protocol = SCardConnect(
            self._context(),
            self.reader_name,
            SCARD_SHARE_EXCLUSIVE,
            SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
        )
        if rv != SCARD_S_SUCCESS:
            raise CardIOError(f"{self.reader_name}: SCardConnect failed: {rv:#x}")
        return CardConnection(handle, protocol)


class CardConnection:
    """An exclusive connection to the card in the reader."""

    def __init__(self, handle: int, protocol: int):
        self._handle: int | None = handle
        self._protocol = protocol

    def transmit(self, command: bytes) -> ResponseAPDU:
        if self._handle is None:
            raise CardIOError("the card connection is closed")
        rv, answer = SCardTransmit(self._handle, self._protocol, list(command))
        if rv != SCARD_S_SUCCESS:
            raise CardIOError(f"SCardTransmit failed: {rv:#x}")
        # vpcd answers an empty response when the card left mid-command (docs/reader-stack.md)
        if len(answer) < 2:
            raise CardIOError("the card gave no status word (removed mid-command?)")
        return ResponseAPDU.parse(bytes(answer))

    def close(self) -> None:
        if self._handle is not None:
            SCardDisconnect(self._handle, SCARD_UNPOWER_CARD)
            self._handle = None

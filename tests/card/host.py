"""The host side the card tests use: raw PC/SC (pyscard's scard layer), as a kiosk would."""

from __future__ import annotations

from types import TracebackType

from smartcard.scard import (
    SCARD_LEAVE_CARD,
    SCARD_PROTOCOL_T0,
    SCARD_PROTOCOL_T1,
    SCARD_RESET_CARD,
    SCARD_S_SUCCESS,
    SCARD_SCOPE_USER,
    SCARD_SHARE_SHARED,
    SCardConnect,
    SCardDisconnect,
    SCardEstablishContext,
    SCardReconnect,
    SCardReleaseContext,
    SCardTransmit,
)

from rig.core.protocols.apdu import ResponseAPDU

PROTOCOLS = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1


class PcscError(RuntimeError):
    def __init__(self, call: str, code: int):
        super().__init__(f"{call} failed: {code & 0xFFFFFFFF:#010x}")
        self.code = code & 0xFFFFFFFF


class HostConnection:
    """One PC/SC connection to a reader; `transmit` returns the parsed response."""

    def __init__(self, reader: str):
        rv, self.ctx = SCardEstablishContext(SCARD_SCOPE_USER)
        if rv != SCARD_S_SUCCESS:
            raise PcscError("SCardEstablishContext", rv)
        self.reader = reader
        self.handle: int | None = None
        self.protocol = 0

    def connect(self) -> HostConnection:
        rv, handle, proto = SCardConnect(self.ctx, self.reader, SCARD_SHARE_SHARED, PROTOCOLS)
        if rv != SCARD_S_SUCCESS:
            raise PcscError("SCardConnect", rv)
        self.handle, self.protocol = handle, proto
        return self

    def transmit(self, apdu: bytes) -> ResponseAPDU:
        rv, data = SCardTransmit(self.handle, self.protocol, list(apdu))
        if rv != SCARD_S_SUCCESS:
            raise PcscError("SCardTransmit", rv)
        return ResponseAPDU.parse(bytes(data))

    def reset(self) -> None:
        """A warm reset of the card, as a kiosk does between customers."""
        rv, self.protocol = SCardReconnect(
            self.handle, SCARD_SHARE_SHARED, PROTOCOLS, SCARD_RESET_CARD
        )
        if rv != SCARD_S_SUCCESS:
            raise PcscError("SCardReconnect", rv)

    def close(self) -> None:
        if self.handle is not None:
            SCardDisconnect(self.handle, SCARD_LEAVE_CARD)
            self.handle = None
        SCardReleaseContext(self.ctx)

    def __enter__(self) -> HostConnection:
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

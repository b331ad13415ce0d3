"""The device side of each serial link: framing, dispatch to the model, evidence.

A link is transport-agnostic (`receive(bytes) -> bytes`), so the same code serves a pty, a
TCP socket, or a fuzz test calling it directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from emulators.cash.bill_validator import BillValidatorModel
from emulators.cash.coin_mech import CcTalkBusModel
from emulators.cash.faults import NEW_COIN_EVENT, FaultCounters, corrupt_cctalk, corrupt_id003
from rig.core.evidence import EvidenceStore
from rig.core.protocols import cctalk, id003

#: Evidence channels.
ID003_CHANNEL = "cash_id003"
CCTALK_CHANNEL = "cash_cctalk"


@dataclass
class FrameStats:
    corrupted_replies: int = 0


class _Decoder(Protocol):
    def clear(self) -> bytes: ...


_D = TypeVar("_D", bound=_Decoder)


class _SerialLink(Generic[_D]):
    """What both links do besides their own frames: record the bytes their decoder
    discards, the line settings, and any other event under the link's evidence `channel`."""

    channel: str

    def __init__(
        self,
        decoder: _D,
        lock: threading.RLock,
        evidence: EvidenceStore | None,
        faults: FaultCounters,
    ) -> None:
        self._lock = lock
        self._evidence = evidence
        self._faults = faults
        self._decoder = decoder
        self.stats = FrameStats()

    def _answer(
        self, reply: bytes, how: str | None, corrupt: Callable[[bytes, str], bytes]
    ) -> bytes:
        """The reply as it goes out: corrupted `how` the fault plan says, if it says so."""
        if how is not None:
            reply = corrupt(reply, how)
            self.stats.corrupted_replies += 1
        return reply

    def _frame(self, corrupted: str | None, **data: Any) -> None:
        extra = {"corrupted": corrupted} if corrupted else {}
        self._record("frame", **data, **extra)

    def idle_gap(self) -> None:
        dropped = self._decoder.clear()
        if dropped:
            self._record("discarded", raw=dropped, reason="inter-byte time-out")

    def line_settings(self, settings: dict[str, Any]) -> None:
        self._record("line_settings", **settings)

    def _record(self, event: str, **data: Any) -> None:
        if self._evidence is not None:
            self._evidence.record(self.channel, event, **data)


class Id003Link(_SerialLink[id003.FrameDecoder]):
    name = "bill_validator"
    #: A partial frame older than this (no new byte) is dropped (rig decision).
    gap_s = 0.100
    channel = ID003_CHANNEL

    def __init__(
        self,
        model: BillValidatorModel,
        lock: threading.RLock,
        evidence: EvidenceStore | None,
        faults: FaultCounters,
    ) -> None:
        super().__init__(id003.FrameDecoder(), lock, evidence, faults)
        self.model = model

    def receive(self, data: bytes) -> bytes:
        out = bytearray()
        with self._lock:
            for item in self._decoder.feed(data):
                if isinstance(item, id003.Discarded):
                    self._record("discarded", raw=item.raw, reason=item.reason)
                    continue
                reply = self.model.handle(item)
                status = corrupted = None
                if reply is not None:
                    status = id003.Frame(reply[2]).name("device")
                    corrupted = self._faults.corrupt_reply("id003", frozenset({status}))
                    reply = self._answer(reply, corrupted, corrupt_id003)
                    out += reply
                self._frame(
                    corrupted,
                    rx=item.encode(),
                    command=item.name("host"),
                    tx=reply or b"",
                    status=status,
                )
        return bytes(out)


class CcTalkLink(_SerialLink[cctalk.PacketDecoder]):
    name = "coin"
    gap_s = cctalk.INTER_BYTE_TIMEOUT_S
    channel = CCTALK_CHANNEL

    def __init__(
        self,
        bus: CcTalkBusModel,
        lock: threading.RLock,
        evidence: EvidenceStore | None,
        faults: FaultCounters,
        *,
        local_echo: bool = False,
    ) -> None:
        super().__init__(cctalk.PacketDecoder(accept=bus.accepted_routes()), lock, evidence, faults)
        self.bus = bus
        self.local_echo = local_echo
        #: event counter of the last READ BUFFERED CREDIT answer that went out intact
        self._delivered_counter: int | None = None

    def receive(self, data: bytes) -> bytes:
        # on a one-wire ccTalk bus the host hears its own bytes back before any answer
        out = bytearray(data if self.local_echo else b"")
        with self._lock:
            for item in self._decoder.feed(data):
                if isinstance(item, cctalk.Discarded):
                    self._record("discarded", raw=item.raw, reason=item.reason)
                    continue
                reply = self.bus.handle(item)
                corrupted: str | None = None
                if reply is not None:
                    corrupted = self._corruption(item, reply)
                    reply = self._answer(reply, corrupted, corrupt_cctalk)
                    out += reply
                self._frame(
                    corrupted,
                    dest=item.dest,
                    header=item.header_name(),
                    rx=item.encode(),
                    tx=reply or b"",
                    answer=cctalk.Header(reply[3]).name if reply else None,
                )
        return bytes(out)

    def _corruption(self, request: cctalk.Packet, reply: bytes) -> str | None:
        """Whether the fault plan corrupts this reply (and which NEW_COIN_EVENT it carries)."""
        names = {request.header_name()}
        new_counter: int | None = None
        is_credit_answer = (
            request.header == cctalk.Header.READ_BUFFERED_CREDIT
            and request.dest == cctalk.COIN_ACCEPTOR_ADDRESS
            and reply[3] == cctalk.Header.ACK
            and reply[1] == 11
        )
        if is_credit_answer:
            new_counter = reply[4]
            if new_counter != 0 and new_counter != self._delivered_counter:
                names.add(NEW_COIN_EVENT)
        how = self._faults.corrupt_reply("cctalk", frozenset(names), request.dest)
        if how is None and new_counter is not None:
            self._delivered_counter = new_counter
        return how

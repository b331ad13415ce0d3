"""The device side of each serial link: framing, dispatch to the model, evidence.

A link is transport-agnostic (`receive(bytes) -> bytes`), so the same code serves a pty, a
TCP socket, or a fuzz test calling it directly.
"""

from __future__ import annotations

import threading
from typing import Any

from emulators.cash.bill_validator import BillValidatorModel
from emulators.cash.coin_mech import CcTalkBusModel
from rig.evidence import EvidenceStore
from rig.protocols import cctalk, id003

#: Evidence channels.
ID003_CHANNEL = "cash_id003"
CCTALK_CHANNEL = "cash_cctalk"


class FrameStats:
    def __init__(self) -> None:
        self.frames = 0
        self.replies = 0
        self.discarded_bytes = 0

    def as_dict(self) -> dict[str, int]:
        return dict(frames=self.frames, replies=self.replies, discarded_bytes=self.discarded_bytes)


class Id003Link:
    name = "bill_validator"
    #: A partial frame older than this (no new byte) is dropped (rig decision).
    gap_s = 0.100

    def __init__(
        self,
        model: BillValidatorModel,
        lock: threading.RLock,
        evidence: EvidenceStore | None = None,
    ) -> None:
        self.model = model
        self._lock = lock
        self._evidence = evidence
        self._decoder = id003.FrameDecoder()
        self.stats = FrameStats()

    def receive(self, data: bytes) -> bytes:
        out = bytearray()
        with self._lock:
            for item in self._decoder.feed(data):
                if isinstance(item, id003.Discarded):
                    self.stats.discarded_bytes += len(item.raw)
                    self._record("discarded", raw=item.raw, reason=item.reason)
                    continue
                self.stats.frames += 1
                reply = self.model.handle(item)
                if reply is not None:
                    self.stats.replies += 1
                    out += reply
                if self._evidence is not None:
                    self._evidence.record(
                        ID003_CHANNEL,
                        "frame",
                        rx=item.encode(),
                        command=item.name("host"),
                        tx=reply or b"",
                        status=id003.Frame(reply[2]).name("device") if reply else None,
                    )
        return bytes(out)

    def idle_gap(self) -> None:
        dropped = self._decoder.clear()
        if dropped:
            self.stats.discarded_bytes += len(dropped)
            self._record("discarded", raw=dropped, reason="inter-byte time-out")

    def line_settings(self, settings: dict[str, Any]) -> None:
        self._record("line_settings", **settings)

    def _record(self, event: str, **data: Any) -> None:
        if self._evidence is not None:
            self._evidence.record(ID003_CHANNEL, event, **data)


class CcTalkLink:
    name = "coin"
    gap_s = cctalk.INTER_BYTE_TIMEOUT_S

    def __init__(
        self,
        bus: CcTalkBusModel,
        lock: threading.RLock,
        evidence: EvidenceStore | None = None,
        *,
        local_echo: bool = False,
    ) -> None:
        self.bus = bus
        self._lock = lock
        self._evidence = evidence
        self.local_echo = local_echo
        self._decoder = cctalk.PacketDecoder(accept=bus.accepted_routes())
        self.stats = FrameStats()

    def receive(self, data: bytes) -> bytes:
        # on a one-wire ccTalk bus the host hears its own bytes back before any answer
        out = bytearray(data if self.local_echo else b"")
        with self._lock:
            for item in self._decoder.feed(data):
                if isinstance(item, cctalk.Discarded):
                    self.stats.discarded_bytes += len(item.raw)
                    self._record("discarded", raw=item.raw, reason=item.reason)
                    continue
                self.stats.frames += 1
                reply = self.bus.handle(item)
                if reply is not None:
                    self.stats.replies += 1
                    out += reply
                if self._evidence is not None:
                    self._evidence.record(
                        CCTALK_CHANNEL,
                        "frame",
                        dest=item.dest,
                        header=item.header_name(),
                        rx=item.encode(),
                        tx=reply or b"",
                        answer=cctalk.Header(reply[3]).name if reply else None,
                    )
        return bytes(out)

    def idle_gap(self) -> None:
        dropped = self._decoder.clear()
        if dropped:
            self.stats.discarded_bytes += len(dropped)
            self._record("discarded", raw=dropped, reason="inter-byte time-out")

    def line_settings(self, settings: dict[str, Any]) -> None:
        self._record("line_settings", **settings)

    def _record(self, event: str, **data: Any) -> None:
        if self._evidence is not None:
            self._evidence.record(CCTALK_CHANNEL, event, **data)

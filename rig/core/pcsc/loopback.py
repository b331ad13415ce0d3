"""A loopback card: answers every command with its header and 90 00.

Used by `rig doctor` to prove the reader stack end to end, by the stack's own tests and by
the APDU round-trip benchmark, where a real card model's work would blur the figure.
"""

from __future__ import annotations

#: The ATR OpenSC's jpki driver recognises (interfaces.md); any ATR would do for loopback.
LOOPBACK_ATR = bytes.fromhex("3BE000FF8131FE4514")


class LoopbackCard:
    """Echoes the command header with 90 00; counts power events and keeps what it saw."""

    def __init__(self, atr: bytes = LOOPBACK_ATR, *, keep: bool = True):
        self.atr = atr
        self.keep = keep
        self.power_ups = 0
        self.resets = 0
        self.seen: list[bytes] = []

    def getATR(self) -> bytes:
        return self.atr

    def powerUp(self) -> None:
        self.power_ups += 1

    def powerDown(self) -> None:
        pass

    def reset(self) -> None:
        self.resets += 1

    def execute(self, msg: bytes) -> bytes:
        if self.keep:
            self.seen.append(msg)
        return msg[:4] + b"\x90\x00"

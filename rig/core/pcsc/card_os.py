"""What a virtual card is to the reader stack: a vsmartcard-style `SmartcardOS`."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class CardOS(Protocol):
    """The card side of vpcd: the same duck type as virtualsmartcard's `SmartcardOS`."""

    def getATR(self) -> bytes: ...

    def powerUp(self) -> None: ...

    def powerDown(self) -> None: ...

    def reset(self) -> None: ...

    def execute(self, msg: bytes) -> bytes: ...

"""Cards for testing the reader stack itself (the real cards live in emulators/card)."""

from rig.core.pcsc.loopback import LOOPBACK_ATR as JPKI_LIKE_ATR
from rig.core.pcsc.loopback import LoopbackCard as EchoCard

__all__ = ["JPKI_LIKE_ATR", "AtrCountingCard", "EchoCard"]


class AtrCountingCard(EchoCard):
    """Counts vpcd's "is a card there?" questions (each one asks the card for its ATR)."""

    def __init__(self) -> None:
        super().__init__()
        self.atr_asked = 0

    def getATR(self) -> bytes:
        self.atr_asked += 1
        return super().getATR()

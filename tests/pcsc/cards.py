"""Cards for testing the reader stack itself (the real cards live in emulators/card)."""

from rig.core.pcsc.loopback import LOOPBACK_ATR as JPKI_LIKE_ATR
from rig.core.pcsc.loopback import LoopbackCard as EchoCard

__all__ = ["JPKI_LIKE_ATR", "EchoCard"]

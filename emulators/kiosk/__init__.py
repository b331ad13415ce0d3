"""The reference kiosk (参照キオスク端末): the embedded default device under test.

It talks to the card through pyscard (PC/SC), to the cash unit over serial (ID-003,
ccTalk), to the printer over IPP and to the centre over HTTPS with its client certificate,
and serves the customer-robot protocol (rig.core.protocols.robot) on 127.0.0.1. See docs/kiosk.md.
"""

from emulators.kiosk.config import DEFAULT_TIMEOUTS, KioskConfig
from emulators.kiosk.launcher import ReferenceKiosk

__all__ = ["DEFAULT_TIMEOUTS", "KioskConfig", "ReferenceKiosk"]

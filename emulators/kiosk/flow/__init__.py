"""The reference kiosk's flow, one module per phase (see navigation.py for the whole).

In the JPKI path's screen numbers: base (shared state and publishing), card (①–④ card and
authentication), choice (⑤–⑪), payment (⑫), printing (⑬–⑮ printing and receipt), ending
(notices and aborts), and navigation, which puts them together as `KioskFlow`.
"""

from emulators.kiosk.flow.navigation import KioskFlow, RobotActionError

__all__ = ["KioskFlow", "RobotActionError"]

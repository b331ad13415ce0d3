"""How the parties spell a JPKI certificate's serial: the centre's holder links and the issuance
server's registered users (利用者登録) key on the same normal form."""

from __future__ import annotations


def normalise_serial(serial: str | int) -> str:
    """A certificate serial as upper-case hex without leading zeros ("0x", ":" allowed)."""
    if isinstance(serial, int):
        if serial <= 0:
            raise ValueError("certificate serials are positive")
        return f"{serial:X}"
    text = serial.strip().lower().removeprefix("0x").replace(":", "")
    if not text or len(text) > 40 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError("a serial is 1-40 hexadecimal digits")
    return f"{int(text, 16):X}"

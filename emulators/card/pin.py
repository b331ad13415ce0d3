"""Card-held reference data (PINs, the signature password) with their retry counters.

The counter lives in the card's memory: a reset or a re-SELECT clears the verified state
but never restores tries, so a blocked PIN stays blocked across resets and re-insertions.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import Enum

from rig.core.protocols.apdu import SW, verify_failed


class PinMode(Enum):
    #: A PIN the holder types at the kiosk.
    PIN = "pin"
    #: No PIN is set (顔認証マイナンバーカード): every VERIFY, even the empty one, is 69 84.
    NOT_USABLE = "not_usable"
    #: The holder is verified on the device itself (iPhone biometrics): empty VERIFY is 90 00
    #: and the key is usable without a VERIFY; a VERIFY with data is refused with 69 85.
    DEVICE = "device"


@dataclass
class ReferenceData:
    """One PIN or password on the card."""

    value: bytes
    max_tries: int
    tries_left: int
    mode: PinMode = PinMode.PIN

    @classmethod
    def new(
        cls, value: str, max_tries: int, tries_left: int | None = None, mode: PinMode = PinMode.PIN
    ) -> ReferenceData:
        left = max_tries if tries_left is None else tries_left
        if not 0 <= left <= max_tries <= 15:
            raise ValueError(f"tries_left {left} must be within 0..max_tries ({max_tries})")
        return cls(value.encode("ascii"), max_tries, left, mode)

    @property
    def blocked(self) -> bool:
        return self.mode is PinMode.PIN and self.tries_left == 0

    def status(self) -> int:
        """The answer to an empty VERIFY (no try spent)."""
        if self.mode is PinMode.NOT_USABLE:
            return SW.REFERENCE_DATA_NOT_USABLE
        if self.mode is PinMode.DEVICE:
            return SW.OK
        return verify_failed(self.tries_left)

    def verify(self, candidate: bytes) -> int:
        """Compare a candidate; returns the status word (9000 only on a match)."""
        if self.mode is PinMode.NOT_USABLE:
            return SW.REFERENCE_DATA_NOT_USABLE
        if self.mode is PinMode.DEVICE:
            return SW.CONDITIONS_NOT_SATISFIED
        if self.blocked:
            return SW.REFERENCE_DATA_NOT_USABLE
        if hmac.compare_digest(candidate, self.value):
            self.tries_left = self.max_tries
            return SW.OK
        self.tries_left -= 1
        return verify_failed(self.tries_left)

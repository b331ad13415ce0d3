"""Fault injection for virtual cards.

- Damaged EF: `damage_certificate` keeps the DER header (so middleware still learns the
  length and reads the whole file) and zeroes the body, as a corrupted chip file would read.
- Mute chip: not a card-model fault; the reader stack plays it
  (`VirtualCardSlot.insert(card, mute=True)`: present, but no ATR, SCARD_W_UNRESPONSIVE_CARD).
- PIN states (tries left, blocked, not set, device-verified) are profile data
  (emulators/card/profiles/cards.yaml).
"""

from __future__ import annotations

DAMAGE_SPAN = 64


def damage_certificate(der: bytes) -> bytes:
    """The certificate with its first `DAMAGE_SPAN` body bytes zeroed; length unchanged."""
    if len(der) < 8:
        return bytes(len(der))
    header = 4 if der[1] == 0x82 else 2
    span = min(DAMAGE_SPAN, len(der) - header)
    return der[:header] + bytes(span) + der[header + span :]

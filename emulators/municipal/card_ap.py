"""The card-AP challenge-response hook (カードAP認証方式), wired to `rig.core.protocols.card_ap`.

The centre relays a challenge from this server to the card (INTERNAL AUTHENTICATE) and
posts back the card's answer; `verify_card_response` is THE hook that judges it. The wire
format and the cryptography (a per-card AES key derived from the municipality's master key
and the card's public identifiers; AES-CMAC over context and challenge) live in
`rig.core.protocols.card_ap`, which the virtual card uses to answer: this module only connects
the municipality's keys to it.
"""

from __future__ import annotations

from rig.core.protocols import card_ap as protocol
from rig.core.protocols.card_ap import CardApInfo


def card_key(world_seed: str, info: CardApInfo) -> bytes:
    """The per-card key a card with `info` holds (for world builders and tests)."""
    return protocol.derive_card_key(
        protocol.world_master_key(world_seed, info.municipality_code), info
    )


def verify_card_response(
    master: bytes, info: CardApInfo, challenge: bytes, response: bytes
) -> bool:
    """True when `response` is a genuine card's answer to `challenge` (the hook)."""
    return protocol.verify_card_response(master, info, challenge, response)

"""Virtual My Number cards, Juki cards and smartphones: JPKI AP, 券面事項入力補助AP, card AP.

Use `build_card(profile_name, authority, seed=...)` and insert `.card` into a reader slot of
the rig's PC/SC stack; docs/cards.md describes every profile for kiosk vendors.
"""

from emulators.card.chip import VirtualCard
from emulators.card.profiles import (
    BuiltCard,
    CardProfile,
    ProfileError,
    build_card,
    load_profile,
    profile_names,
)

__all__ = [
    "BuiltCard",
    "CardProfile",
    "ProfileError",
    "VirtualCard",
    "build_card",
    "load_profile",
    "profile_names",
]

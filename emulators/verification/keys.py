"""The scramble keys the verification site holds (スクランブル鍵), as a small key ring.

The printed header carries the sheet's nonce and a 4-byte key tag but no key id, so the site
tries its keys in order (current first, then the ones still valid for sheets already
issued) and the tag tells which one fits. A real deployment keeps the keys in the centre
operator's key store (an HSM or secret manager) and gives the site only what it needs;
the rig reads them from a file only its user may read (`KeyRing.from_file`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rig.core.antiforgery.scramble import check_key

MAX_KEYS = 16


class KeyRingError(ValueError):
    """The key ring or its file is unusable (format, permissions, key length)."""


@dataclass(frozen=True, repr=False)
class KeyRing:
    """Ordered (key id, key) pairs; ids are names for logs and answers, never secrets."""

    entries: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.entries) <= MAX_KEYS:
            raise KeyRingError(f"a key ring holds 1–{MAX_KEYS} keys, got {len(self.entries)}")
        seen: set[str] = set()
        for key_id, key in self.entries:
            if not key_id or not key_id.isprintable() or len(key_id) > 64 or key_id in seen:
                raise KeyRingError(f"bad or duplicate key id {key_id!r}")
            seen.add(key_id)
            try:
                check_key(key)
            except ValueError as exc:
                raise KeyRingError(f"key {key_id!r}: {exc}") from None

    @classmethod
    def of(cls, pairs: Sequence[tuple[str, bytes]]) -> KeyRing:
        return cls(tuple((k, bytes(v)) for k, v in pairs))

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        """Read `key_id hexkey` lines (`#` comments). The file must not be readable by group
        or others: the scramble key is the centre's secret."""
        path = Path(path)
        mode = path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyRingError(f"{path}: key file must be private (chmod 600), mode {mode:o}")
        pairs: list[tuple[str, bytes]] = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            parts = text.split()
            if len(parts) != 2:
                raise KeyRingError(f"{path}:{number}: expected 'key_id hexkey'")
            try:
                pairs.append((parts[0], bytes.fromhex(parts[1])))
            except ValueError:
                raise KeyRingError(f"{path}:{number}: key is not hex") from None
        return cls.of(pairs)

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        # never print key material
        return f"KeyRing(ids={[k for k, _ in self.entries]})"

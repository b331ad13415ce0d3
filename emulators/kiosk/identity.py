"""Who the reference kiosk says it is in `GET /info`: vendor, model, version and build hash."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

VENDOR = "Konbini Rig"
MODEL = "reference kiosk"
SOFTWARE_VERSION = "1.0"


@functools.cache
def build_hash() -> str:
    """SHA-256 (first 16 hex digits) of the kiosk's own sources: changes with any edit to them,
    as a vendor's build hash changes with a new build."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]

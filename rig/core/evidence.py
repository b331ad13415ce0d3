"""Per-test evidence store: what crossed each interface, as JSON lines plus attachments.

Every emulator appends records here (APDUs, cash frames, IPP operations, HTTP messages,
captured sheets). Secrets never reach the disk: fields named as secret are masked, and any
value registered with `register_secret` (a PIN, a My Number) is scrubbed from every record
and every text attachment before it is written.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

#: Field names whose values are always masked, whatever the channel.
SECRET_FIELDS = frozenset({"pin", "password", "my_number", "individual_number", "pin_hash"})
MASK = "***"

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def mask_value(value: Any) -> str:
    """What a masked value looks like on disk: its kind and length, never its content."""
    if isinstance(value, bytes | bytearray):
        return f"{MASK}({len(value)} bytes)"
    if isinstance(value, str):
        return f"{MASK}({len(value)} chars)"
    return MASK


class EvidenceStore:
    """Append-only evidence for one test (or one `rig serve` session).

    `now` supplies the rig clock's time so records carry simulated time, not wall time.
    """

    def __init__(self, folder: Path, now: Callable[[], datetime] | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._now = now
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._seq = 0

    # -- secrets -----------------------------------------------------------------------
    def register_secret(self, value: str | bytes) -> None:
        """Scrub this value (and its hex form, for byte strings) from everything written."""
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        if len(text) < 4:
            # shorter values would scrub innocent digits everywhere; mask such fields by name
            raise ValueError("register secrets of at least 4 characters")
        raw = value if isinstance(value, bytes) else value.encode()
        with self._lock:
            self._secrets.update((text, raw.hex(), raw.hex().upper(), raw.hex(" ").upper()))

    def scrub(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def _mask(self, obj: Any) -> Any:
        if isinstance(obj, Mapping):
            return {
                str(k): (mask_value(v) if str(k).lower() in SECRET_FIELDS else self._mask(v))
                for k, v in obj.items()
            }
        if isinstance(obj, list | tuple):
            return [self._mask(v) for v in obj]
        if isinstance(obj, bytes | bytearray):
            return bytes(obj).hex()
        if isinstance(obj, datetime):
            return obj.isoformat()
        return obj

    # -- writing -----------------------------------------------------------------------
    def record(self, channel: str, event: str, **data: Any) -> dict[str, Any]:
        """Append one record to `<channel>.jsonl` and return it as written."""
        with self._lock:
            self._seq += 1
            entry: dict[str, Any] = {"seq": self._seq, "event": event}
            if self._now is not None:
                entry["rig_time"] = self._now().isoformat()
            entry.update(self._mask(data))
            line = self.scrub(json.dumps(entry, ensure_ascii=False, default=str))
            path = self.folder / f"{_SAFE_NAME.sub('_', channel)}.jsonl"
            with path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
            written: dict[str, Any] = json.loads(line)
            return written

    def attach(self, name: str, content: bytes | str, *, text: bool | None = None) -> Path:
        """Write an attachment (a captured sheet, a PDF, a screen dump) into the folder."""
        path = self.folder / "attachments" / _SAFE_NAME.sub("_", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        is_text = isinstance(content, str) if text is None else text
        with self._lock:
            if is_text:
                body = content if isinstance(content, str) else content.decode("utf-8")
                path.write_text(self.scrub(body), encoding="utf-8")
            else:
                path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return path

    # -- reading -----------------------------------------------------------------------
    def channels(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*.jsonl"))

    def records(self, channel: str) -> Iterator[dict[str, Any]]:
        path = self.folder / f"{_SAFE_NAME.sub('_', channel)}.jsonl"
        if not path.exists():
            return
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)

    def attachments(self) -> list[Path]:
        folder = self.folder / "attachments"
        return sorted(folder.iterdir()) if folder.exists() else []

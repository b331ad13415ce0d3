"""The kiosk's audit log (監査ログ): what happened, never to whom (seed I.1 (2)).

Only fields on an allow-list are written, so a PIN, a My Number, a name or a certificate can
never reach the log by accident: a field outside the list is a programming error.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore

CHANNEL = "kiosk-audit"

ALLOWED_FIELDS = frozenset(
    {
        "txn",
        "screen",
        "seed_number",
        "method",
        "card_kind",
        "code",
        "source",
        "fee_yen",
        "paid_yen",
        "change_yen",
        "refund_yen",
        "unpaid_yen",
        "copies",
        "type",
        "variant",
        "pages",
        "job_id",
        "outcome",
        "items",
        "tries_left",
        "faults",
        "error",
        "reader",
    }
)


class AuditFieldError(ValueError):
    """A field that is not on the audit allow-list."""


class AuditLog:
    def __init__(self, path: Path, clock: RigClock, evidence: EvidenceStore | None = None):
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.evidence = evidence
        self._lock = threading.Lock()

    def record(self, event: str, **fields: Any) -> None:
        unknown = set(fields) - ALLOWED_FIELDS
        if unknown:
            raise AuditFieldError(f"not audit fields: {sorted(unknown)}")
        entry = {"at": self.clock.now().isoformat(), "event": event, **fields}
        line = json.dumps(entry, ensure_ascii=False, default=str)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        if self.evidence is not None:
            self.evidence.record(CHANNEL, event, **fields)

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

"""The JPKI revocation store (失効情報): what the rig's OCSP responder answers from.

A small SQLite file in the run folder. Schema (stable; the OCSP responder may read it directly):

    issued(serial INTEGER PRIMARY KEY, kind TEXT, issuer TEXT, not_before TEXT, not_after TEXT)
    revoked(serial INTEGER PRIMARY KEY, revoked_at TEXT, reason TEXT)

Times are ISO 8601 with offset; `reason` is an RFC 5280 CRLReason name as in
`cryptography.x509.ReasonFlags` (e.g. "key_compromise"). A serial never issued is "unknown".
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from cryptography import x509

_SCHEMA = """
CREATE TABLE IF NOT EXISTS issued (
    serial INTEGER PRIMARY KEY, kind TEXT NOT NULL, issuer TEXT NOT NULL,
    not_before TEXT NOT NULL, not_after TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revoked (
    serial INTEGER PRIMARY KEY, revoked_at TEXT NOT NULL, reason TEXT NOT NULL);
"""


class CertStatus(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


class RevocationError(ValueError):
    """A revocation request the store refuses (unknown serial, naive time, bad reason)."""


@dataclass(frozen=True)
class Revocation:
    serial: int
    revoked_at: datetime
    reason: x509.ReasonFlags


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise RevocationError(f"naive datetime {when!r}: give a time zone")
    return when


class RevocationStore:
    """Issued serials and revocations, in `path` (SQLite; safe across threads and processes).

    Each thread keeps one connection for the store's life instead of opening one per call:
    the OCSP responder asks for a status on every authentication, and hundreds of opens a
    second cost more than the queries (and churn file descriptors). Processes that share a
    store on purpose (`rig serve` and `rig card`, one world) still see each other's writes:
    every call is its own transaction.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30)
            self._local.db = db
        with db:
            yield db

    def record_issued(
        self, serial: int, kind: str, issuer: str, not_before: datetime, not_after: datetime
    ) -> None:
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO issued VALUES (?, ?, ?, ?, ?)",
                (
                    serial,
                    kind,
                    issuer,
                    _aware(not_before).isoformat(),
                    _aware(not_after).isoformat(),
                ),
            )

    def revoke(
        self,
        serial: int,
        when: datetime,
        reason: x509.ReasonFlags = x509.ReasonFlags.unspecified,
    ) -> Revocation:
        """Mark `serial` revoked from `when` on; revoking twice keeps the first record."""
        if not isinstance(reason, x509.ReasonFlags):
            raise RevocationError(f"reason must be a cryptography.x509.ReasonFlags, not {reason!r}")
        with self._db() as db:
            if db.execute("SELECT 1 FROM issued WHERE serial = ?", (serial,)).fetchone() is None:
                raise RevocationError(f"serial {serial:#x} was never issued by this authority")
            db.execute(
                "INSERT OR IGNORE INTO revoked VALUES (?, ?, ?)",
                (serial, _aware(when).isoformat(), reason.name),
            )
        found = self.revocation(serial)
        assert found is not None
        return found

    def revocation(self, serial: int) -> Revocation | None:
        with self._db() as db:
            row = db.execute(
                "SELECT revoked_at, reason FROM revoked WHERE serial = ?", (serial,)
            ).fetchone()
        if row is None:
            return None
        return Revocation(serial, datetime.fromisoformat(row[0]), x509.ReasonFlags[row[1]])

    def status(self, serial: int, at: datetime | None = None) -> CertStatus:
        """good / revoked / unknown; with `at`, a revocation dated later does not count yet."""
        with self._db() as db:
            row = db.execute(
                "SELECT revoked.revoked_at FROM issued LEFT JOIN revoked USING (serial)"
                " WHERE issued.serial = ?",
                (serial,),
            ).fetchone()
        if row is None:
            return CertStatus.UNKNOWN
        if row[0] is None or (at is not None and _aware(at) < datetime.fromisoformat(row[0])):
            return CertStatus.GOOD
        return CertStatus.REVOKED

    def revocations(self) -> list[Revocation]:
        with self._db() as db:
            rows = db.execute("SELECT serial, revoked_at, reason FROM revoked").fetchall()
        return [Revocation(s, datetime.fromisoformat(t), x509.ReasonFlags[r]) for s, t, r in rows]

"""The centre's durable records in SQLite: issuance statistics, the JPKI holder links, and
result reports still owed to a municipality.

No personal data: an issuance row names the municipality, store, operator, kiosk,
certificate type, copies, fee and time, never the applicant. The file lives in the centre's
state folder and survives a restart.

Settlement (seed II.7.4, III.2.5): per municipality and month, copies, fees, the store
operator's commission (123 yen × copies) and fees − commission, which the municipality
invoices. `monthly_settlement` is a SQL view over the issuance rows.

Statistics (STAT-004, STAT-005): per municipality, certificate type and day
(`daily_by_type`), and per operator, store and day (`daily_by_store`). A day is the
calendar day in Japan: rows are stored with their JST time, whatever zone they came in.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rig.core.clock import JST
from rig.core.pki.serials import normalise_serial
from rig.core.protocols.centre import COMMISSION_PER_COPY_YEN

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS issuance (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL UNIQUE,
    municipality TEXT NOT NULL,
    store_id TEXT NOT NULL,
    operator_id TEXT NOT NULL,
    kiosk_id TEXT NOT NULL,
    cert_type TEXT NOT NULL,
    variant TEXT,
    copies INTEGER NOT NULL CHECK (copies > 0),
    fee_per_copy INTEGER NOT NULL CHECK (fee_per_copy >= 0),
    fee_total INTEGER NOT NULL,
    issued_at TEXT NOT NULL,
    month TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS issuance_month ON issuance (municipality, month);
CREATE INDEX IF NOT EXISTS issuance_operator ON issuance (operator_id, issued_at);
CREATE VIEW IF NOT EXISTS monthly_settlement AS
    SELECT municipality, month,
           COUNT(*) AS issuances,
           SUM(copies) AS copies,
           SUM(fee_total) AS fees,
           {COMMISSION_PER_COPY_YEN} * SUM(copies) AS commission,
           SUM(fee_total) - {COMMISSION_PER_COPY_YEN} * SUM(copies) AS net
    FROM issuance GROUP BY municipality, month;
CREATE TABLE IF NOT EXISTS jpki_holder (
    serial TEXT PRIMARY KEY,
    municipality TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_result (
    document_id TEXT PRIMARY KEY,
    municipality TEXT NOT NULL,
    outcome TEXT NOT NULL,
    copies_printed INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class IssuanceRow:
    request_id: str
    municipality: str
    store_id: str
    operator_id: str
    kiosk_id: str
    cert_type: str
    variant: str | None
    copies: int
    fee_per_copy: int
    issued_at: datetime

    @property
    def fee_total(self) -> int:
        return self.copies * self.fee_per_copy


class CentreRecords:
    """The SQLite file of one centre; safe to use from many threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._db:
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    # -- statistics ---------------------------------------------------------------------
    def record_issuance(self, row: IssuanceRow) -> bool:
        """Count one issuance; False (and nothing counted) if `request_id` was counted before."""
        issued_at = row.issued_at.astimezone(JST)
        values = {
            **dataclasses.asdict(row),
            "fee_total": row.fee_total,
            "issued_at": issued_at.isoformat(),
            "month": f"{issued_at:%Y-%m}",
        }
        columns, names = ", ".join(values), ", ".join(f":{name}" for name in values)
        try:
            with self._tx() as db:
                db.execute(f"INSERT INTO issuance ({columns}) VALUES ({names})", values)
        except sqlite3.IntegrityError:
            return False
        return True

    def issuances(self, municipality: str | None = None) -> list[dict[str, Any]]:
        where, args = _where({"municipality = ?": municipality})
        return self._rows(f"SELECT * FROM issuance WHERE {where} ORDER BY id", args)

    def count(self) -> int:
        with self._tx() as db:
            return int(db.execute("SELECT COUNT(*) FROM issuance").fetchone()[0])

    def settlement(
        self, month: str | None = None, municipality: str | None = None
    ) -> list[dict[str, Any]]:
        """Rows of the monthly settlement view, filtered by month (YYYY-MM) and municipality."""
        where, args = _where({"month = ?": month, "municipality = ?": municipality})
        return self._rows(
            f"SELECT * FROM monthly_settlement WHERE {where} ORDER BY month, municipality", args
        )

    def daily_by_type(
        self, municipality: str, first: date | None = None, last: date | None = None
    ) -> list[dict[str, Any]]:
        """One municipality's issuances, copies and fees per day and certificate type."""
        return self._daily("municipality", municipality, "cert_type", first, last)

    def daily_by_store(
        self, operator: str, first: date | None = None, last: date | None = None
    ) -> list[dict[str, Any]]:
        """One operator's issuances, copies and fees per store and day."""
        return self._daily("operator_id", operator, "store_id", first, last)

    def _daily(
        self,
        column: str,
        value: str,
        key: str,
        first: date | None,
        last: date | None,
    ) -> list[dict[str, Any]]:
        # `column` and `key` come from the two methods above, never from a request
        group = f"day, {key}"
        where, args = _where(
            {
                f"{column} = ?": value,
                "substr(issued_at, 1, 10) >= ?": first.isoformat() if first else None,
                "substr(issued_at, 1, 10) <= ?": last.isoformat() if last else None,
            }
        )
        return self._rows(
            f"SELECT substr(issued_at, 1, 10) AS day, {key},"
            " COUNT(*) AS issuances, SUM(copies) AS copies, SUM(fee_total) AS fees"
            f" FROM issuance WHERE {where} GROUP BY {group} ORDER BY {group}",
            args,
        )

    def _rows(self, query: str, args: list[str]) -> list[dict[str, Any]]:
        with self._tx() as db:
            return [dict(row) for row in db.execute(query, args)]

    # -- JPKI holder links (J-LIS's link from a certificate to a municipality) -----------
    def register_jpki_holder(self, serial: str | int, municipality_code: str) -> None:
        if len(municipality_code) != 6 or not municipality_code.isdigit():
            raise ValueError("a municipality code is 6 digits")
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO jpki_holder VALUES (?, ?)",
                (normalise_serial(serial), municipality_code),
            )

    def jpki_municipality(self, serial: int) -> str | None:
        with self._tx() as db:
            row = db.execute(
                "SELECT municipality FROM jpki_holder WHERE serial = ?", (normalise_serial(serial),)
            ).fetchone()
        return None if row is None else str(row[0])

    # -- result reports owed to municipalities ---------------------------------------------
    def owe_result(self, document_id: str, municipality: str, outcome: str, copies: int) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO pending_result VALUES (?, ?, ?, ?)",
                (document_id, municipality, outcome, copies),
            )

    def owed_results(self, municipality: str) -> list[tuple[str, str, int]]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT document_id, outcome, copies_printed FROM pending_result"
                " WHERE municipality = ?",
                (municipality,),
            ).fetchall()
        return [(str(d), str(o), int(c)) for d, o, c in rows]

    def result_delivered(self, document_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM pending_result WHERE document_id = ?", (document_id,))


def _where(conditions: dict[str, str | None]) -> tuple[str, list[str]]:
    """A WHERE clause of the conditions given a value (each a fragment with one `?`), and
    their values."""
    given = {sql: value for sql, value in conditions.items() if value is not None}
    return " AND ".join(["1 = 1", *given]), list(given.values())

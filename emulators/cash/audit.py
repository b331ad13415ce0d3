"""Audit counters (監査カウンタ): a double-entry ledger of every bill and coin, in SQLite.

Every movement of an item between two places (customer → acceptor head → stacker →
cassette, hopper → tray, ...) is one row in `movements` and one update of `balances`,
written in a single SQLite transaction. The emulator's physical state is read back from the
balances, so a restart or a power loss mid-transaction resumes from exactly what was
committed: an item is always in one place, and no yen is ever unaccounted.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from emulators.cash.money import Authenticity, Item

# -- places ------------------------------------------------------------------------------
CUSTOMER = "customer"  # outside: the customer's hands
OPERATOR = "operator"  # outside: the store staff who fill hoppers and empty the cassette
ACCEPTOR = "acceptor"  # bill in the validator head or escrow position
STACKING = "stacking"  # bill on its way into the cassette (committed by STACK)
CASSETTE = "cassette"  # bill stacker cassette
BEZEL = "bezel"  # bill returned/rejected, waiting at the slot for the customer
COIN_MECH = "coin_mech"  # coin stuck in the coin acceptor
CASHBOX = "cashbox"  # accepted coins
TRAY = "tray"  # the change/return tray (coins)

EXTERNAL_PLACES = frozenset({CUSTOMER, OPERATOR})
#: Places whose content counts as "taken in" by the kiosk.
CASH_IN_PLACES = frozenset({CASSETTE, CASHBOX})


def hopper_place(yen: int) -> str:
    return f"hopper:{yen}"


def is_hopper(place: str) -> bool:
    return place.startswith("hopper:")


class AuditError(RuntimeError):
    """A movement that would break the books (an item taken from where it is not)."""


@dataclass
class SessionSummary:
    """Cash of one transaction (取引): counts per (form, yen) and values in yen."""

    session: str
    cash_in: dict[tuple[str, int], int] = field(default_factory=dict)
    cash_out: dict[tuple[str, int], int] = field(default_factory=dict)
    returned: dict[tuple[str, int], int] = field(default_factory=dict)
    given_yen: int = 0
    in_yen: int = 0
    out_yen: int = 0
    taken_back_yen: int = 0

    @property
    def net_yen(self) -> int:
        """What the kiosk kept: cash in minus change paid out."""
        return self.in_yen - self.out_yen

    @property
    def customer_owed_yen(self) -> int:
        """What the customer gave but is neither kept by the kiosk nor back in their hands."""
        return self.given_yen - self.net_yen - self.taken_back_yen


@dataclass
class ReconcileReport:
    ok: bool
    problems: list[str]
    movements: int
    balances: dict[str, dict[str, int]]


def _key(item: Item) -> tuple[str, int, str]:
    return (item.form, item.yen, str(item.authenticity))


_SCHEMA = """
CREATE TABLE IF NOT EXISTS movements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rig_time TEXT NOT NULL,
    session TEXT NOT NULL,
    form TEXT NOT NULL,
    yen INTEGER NOT NULL,
    authenticity TEXT NOT NULL,
    count INTEGER NOT NULL CHECK (count > 0),
    src TEXT NOT NULL,
    dst TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS balances (
    place TEXT NOT NULL,
    form TEXT NOT NULL,
    yen INTEGER NOT NULL,
    authenticity TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (place, form, yen, authenticity)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Ledger:
    """The persistent books of one cash unit (one SQLite file in the state dir)."""

    FILENAME = "cash_audit.sqlite3"

    def __init__(self, state_dir: Path, now: Callable[[], datetime]) -> None:
        self.path = Path(state_dir) / self.FILENAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._now = now
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # WAL + NORMAL: every committed movement survives the emulator process dying
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _txn(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- sessions ------------------------------------------------------------------------
    def meta(self, key: str, default: str | None = None) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._txn() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @property
    def session(self) -> str:
        return self.meta("session") or "session-0"

    def begin_session(self, label: str | None = None) -> str:
        """Start a new transaction; every later movement is booked to it."""
        with self._lock:
            number = int(self.meta("session_seq", "0") or "0") + 1
            name = label or f"session-{number}"
            if (
                name == self.session
                or self._db.execute(
                    "SELECT 1 FROM movements WHERE session=? LIMIT 1", (name,)
                ).fetchone()
            ):
                raise AuditError(f"session {name!r} already has movements: pick a new label")
            self.set_meta("session_seq", str(number))
            self.set_meta("session", name)
            return name

    # -- moving --------------------------------------------------------------------------
    def move(
        self,
        item: Item,
        src: str,
        dst: str,
        reason: str,
        count: int = 1,
        session: str | None = None,
    ) -> int:
        """Book `count` of `item` from `src` to `dst`; returns the movement id."""
        if count <= 0:
            raise AuditError(f"count must be positive, got {count}")
        if src == dst:
            raise AuditError(f"movement from {src} to itself")
        form, yen, auth = _key(item)
        with self._txn() as db:
            if src not in EXTERNAL_PLACES:
                have = self._count(db, src, item)
                if have < count:
                    raise AuditError(f"{src} holds {have} x {item.label()}, cannot move {count}")
            cur = db.execute(
                "INSERT INTO movements(rig_time, session, form, yen, authenticity, count,"
                " src, dst, reason) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    self._now().isoformat(),
                    session or self.session,
                    form,
                    yen,
                    auth,
                    count,
                    src,
                    dst,
                    reason,
                ),
            )
            for place, delta in ((src, -count), (dst, count)):
                db.execute(
                    "INSERT INTO balances(place, form, yen, authenticity, count)"
                    " VALUES (?,?,?,?,?) ON CONFLICT(place, form, yen, authenticity)"
                    " DO UPDATE SET count = count + excluded.count",
                    (place, form, yen, auth, delta),
                )
            return int(cur.lastrowid or 0)

    def move_all(self, src: str, dst: str, reason: str) -> list[Item]:
        """Book every piece in `src` to `dst`, one movement per piece; returns the pieces."""
        items = self.contents(src)
        for item in items:
            self.move(item, src, dst, reason)
        return items

    @staticmethod
    def _count(db: sqlite3.Connection, place: str, item: Item) -> int:
        row = db.execute(
            "SELECT count FROM balances WHERE place=? AND form=? AND yen=? AND authenticity=?",
            (place, *_key(item)),
        ).fetchone()
        return int(row[0]) if row else 0

    # -- reading -------------------------------------------------------------------------
    def count(self, place: str, item: Item) -> int:
        with self._lock:
            return self._count(self._db, place, item)

    def contents(self, place: str) -> list[Item]:
        """Every item in `place`, one entry per piece, smallest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT form, yen, authenticity, count FROM balances"
                " WHERE place=? AND count > 0 ORDER BY form, yen, authenticity",
                (place,),
            ).fetchall()
        items: list[Item] = []
        for form, yen, auth, count in rows:
            items.extend([Item(form, int(yen), Authenticity(auth))] * int(count))
        return items

    def moved(self, src: str | None = None, dst: str | None = None) -> int:
        """How many pieces ever moved from `src` and/or to `dst` (None: from or to anywhere)."""
        with self._lock:
            row = self._db.execute(
                "SELECT COALESCE(SUM(count), 0) FROM movements"
                " WHERE (?1 IS NULL OR src = ?1) AND (?2 IS NULL OR dst = ?2)",
                (src, dst),
            ).fetchone()
        return int(row[0])

    def movements(self, session: str | None = None) -> list[dict[str, object]]:
        with self._lock:
            cur = self._db.execute(
                "SELECT * FROM movements WHERE ?1 IS NULL OR session = ?1 ORDER BY id", (session,)
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def sessions(self) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT session FROM movements GROUP BY session ORDER BY MIN(id)"
            ).fetchall()
        return [str(r[0]) for r in rows]

    def summary(self, session: str | None = None) -> SessionSummary:
        """Cash in, change out and returns of one transaction, by denomination."""
        name = session or self.session
        out = SessionSummary(name)
        for m in self.movements(name):
            src, dst, count = str(m["src"]), str(m["dst"]), int(str(m["count"]))
            genuine = m["authenticity"] == Authenticity.GENUINE
            key = (str(m["form"]), int(str(m["yen"])))
            yen = key[1] * count if genuine else 0
            if src == CUSTOMER:
                out.given_yen += yen
            if dst == CUSTOMER:
                out.taken_back_yen += yen
            if not genuine:
                continue
            if dst in CASH_IN_PLACES and src not in CASH_IN_PLACES:
                out.cash_in[key] = out.cash_in.get(key, 0) + count
                out.in_yen += yen
            if is_hopper(src) and dst == TRAY:
                out.cash_out[key] = out.cash_out.get(key, 0) + count
                out.out_yen += yen
            if dst in (BEZEL, TRAY) and not is_hopper(src):
                out.returned[key] = out.returned.get(key, 0) + count
        return out

    def balances(self) -> dict[str, dict[str, int]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT place, form, yen, authenticity, count FROM balances WHERE count != 0"
            ).fetchall()
        table: dict[str, dict[str, int]] = {}
        for place, form, yen, auth, count in rows:
            label = f"{form}:{yen}" + ("" if auth == "genuine" else f":{auth}")
            table.setdefault(str(place), {})[label] = int(count)
        return table

    def reconcile(self) -> ReconcileReport:
        """Check the books: balances equal the journal, totals are zero, nothing negative."""
        problems: list[str] = []
        with self._lock:
            journal: dict[tuple[str, str, int, str], int] = {}
            rows = self._db.execute(
                "SELECT src, dst, form, yen, authenticity, count FROM movements"
            ).fetchall()
            for src, dst, form, yen, auth, count in rows:
                journal[(src, form, yen, auth)] = journal.get((src, form, yen, auth), 0) - count
                journal[(dst, form, yen, auth)] = journal.get((dst, form, yen, auth), 0) + count
            stored = {
                (p, f, y, a): c
                for p, f, y, a, c in self._db.execute(
                    "SELECT place, form, yen, authenticity, count FROM balances"
                ).fetchall()
            }
        for key in set(journal) | set(stored):
            if journal.get(key, 0) != stored.get(key, 0):
                problems.append(
                    f"balance {key} is {stored.get(key, 0)}, journal says {journal.get(key, 0)}"
                )
        totals: dict[tuple[str, int, str], int] = {}
        for (place, form, yen, auth), count in stored.items():
            totals[(form, yen, auth)] = totals.get((form, yen, auth), 0) + count
            if place not in EXTERNAL_PLACES and count < 0:
                problems.append(f"{place} holds a negative count of {form} {yen} ({count})")
        for kind, count in totals.items():
            if count:
                problems.append(f"{kind} does not sum to zero over all places ({count})")
        return ReconcileReport(not problems, problems, len(rows), self.balances())

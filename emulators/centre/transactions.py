"""Sessions and requests held in memory while a kiosk transaction runs, and nothing after.

A `KioskSession` is one customer at one kiosk: its authentication state and the municipal
session it opened, and its `IssuedRequest`s, each holding the printable PDF until the kiosk
reports completion, cancels, or the session's deadline passes on the rig clock. Certificate
data lives only in `IssuedRequest.pdf` (memory); `SessionTable.held_documents()` counts it.
A purged session leaves a tombstone (its id and why) so a late call gets a precise answer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from emulators.centre.errors import CentreError
from rig.core.protocols.centre import CentreCode

MAX_TOMBSTONES = 100_000


class SessionState(StrEnum):
    OPEN = "open"
    CARD_CHALLENGED = "card_challenged"
    PIN_REQUIRED = "pin_required"
    AUTHENTICATED = "authenticated"


class RequestState(StrEnum):
    ISSUED = "issued"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class IssuedRequest:
    id: str
    document_id: str  # the municipality's document id (used for its result report)
    cert_type: str
    variant: str | None
    title: str
    paper: str
    pages: int
    sides: int
    duplex: bool
    copies: int
    fee_per_copy: int
    issued_at: datetime
    sha256: str
    pdf: bytes | None
    state: RequestState = RequestState.ISSUED
    downloaded: bool = False
    paid_yen: int | None = None
    copies_printed: int = 0

    @property
    def total_fee(self) -> int:
        return self.fee_per_copy * self.copies

    @property
    def open(self) -> bool:
        return self.state is RequestState.ISSUED


@dataclass
class KioskSession:
    id: str
    kiosk_id: str
    store_id: str
    operator_id: str
    opened_at: datetime
    closes_at: datetime
    deadline: datetime
    nonce: bytes
    state: SessionState = SessionState.OPEN
    method: str | None = None
    municipality: str | None = None
    municipal_session: str | None = None
    card_user: str | None = None
    challenge: str | None = None
    #: the resident id printed on the first document: every later page must carry it too
    resident_ref: str | None = None
    used_nonces: set[bytes] = field(default_factory=set)
    requests: dict[str, IssuedRequest] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def request(self, request_id: str) -> IssuedRequest:
        found = self.requests.get(request_id)
        if found is None:
            raise CentreError(CentreCode.REQUEST_UNKNOWN)
        return found


class SessionTable:
    """Live sessions by id, and tombstones of purged ones."""

    def __init__(self) -> None:
        self._sessions: dict[str, KioskSession] = {}
        self._tombstones: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, session: KioskSession) -> None:
        with self._lock:
            self._sessions[session.id] = session

    def get(self, session_id: str, kiosk_id: str) -> KioskSession:
        """The live session `session_id` of `kiosk_id`; another kiosk's is 'unknown'."""
        with self._lock:
            session = self._sessions.get(session_id)
            why = self._tombstones.get(session_id)
        if session is None or session.kiosk_id != kiosk_id:
            if why == "expired":
                raise CentreError(CentreCode.SESSION_EXPIRED)
            raise CentreError(CentreCode.SESSION_UNKNOWN)
        return session

    def remove(self, session_id: str, why: str) -> KioskSession | None:
        with self._lock:
            session = self._sessions.pop(session_id, None)
            if session is not None:
                if len(self._tombstones) >= MAX_TOMBSTONES:
                    self._tombstones.pop(next(iter(self._tombstones)))
                self._tombstones[session_id] = why
            return session

    def due(self, now: datetime) -> list[str]:
        with self._lock:
            return [s.id for s in self._sessions.values() if s.deadline <= now]

    def all_ids(self) -> list[str]:
        with self._lock:
            return list(self._sessions)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def held_documents(self) -> int:
        with self._lock:
            sessions = list(self._sessions.values())
        return sum(1 for s in sessions for r in s.requests.values() if r.pdf is not None)

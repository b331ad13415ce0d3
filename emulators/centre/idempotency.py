"""Idempotency-Key handling: a retried request runs once; every retry gets the first answer.

Keys are scoped to the kiosk (its client certificate's CN). A key seen again with a different
method, path or body is refused (422 `idempotency_key_reused`). While the first request with
a key is still running, a retry waits for its answer (up to `wait_seconds`), then gets
409 `idempotency_in_progress`. Only successful (2xx) answers are kept: after an error nothing
was issued or counted, so a retry runs again. Kept answers hold no personal data (request
receipts, payment and completion receipts) and are forgotten after `ttl` of rig time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from emulators.centre.errors import CentreError
from rig.core.https import Response
from rig.core.protocols.centre import IDEMPOTENCY_KEY_PATTERN, CentreCode

_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
REPLAY_HEADER = "Idempotent-Replayed"


@dataclass
class _Entry:
    fingerprint: str
    created: datetime
    done: threading.Event = field(default_factory=threading.Event)
    response: Response | None = None


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


def check_key(key: str | None, required: bool) -> str | None:
    if key is None:
        if required:
            raise CentreError(CentreCode.IDEMPOTENCY_KEY_REQUIRED)
        return None
    if not _KEY.match(key):
        raise CentreError(
            CentreCode.IDEMPOTENCY_KEY_INVALID, "8–64 characters of A-Z a-z 0-9 . _ : -"
        )
    return key


class IdempotencyStore:
    def __init__(
        self,
        now: Callable[[], datetime],
        ttl: timedelta = timedelta(hours=24),
        wait_seconds: float = 60.0,
    ):
        self.now = now
        self.ttl = ttl
        self.wait_seconds = wait_seconds
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _sweep(self, now: datetime) -> None:
        # Entries sit in creation order (dicts keep insertion order; the rig clock does not
        # run backwards), so the expired ones are at the front: stop at the first that is
        # not. A scan of every entry on every request made a busy centre slower by the hour
        # (16,000 kept answers after 20 rounds of 200 customers).
        expired = []
        for k, e in self._entries.items():
            if now - e.created <= self.ttl:
                break
            if e.done.is_set():
                expired.append(k)
        for k in expired:
            del self._entries[k]

    def run(self, scope: str, key: str, print_: str, fn: Callable[[], Response]) -> Response:
        slot = (scope, key)
        while True:
            with self._lock:
                now = self.now()
                self._sweep(now)
                entry = self._entries.get(slot)
                if entry is None:
                    entry = _Entry(print_, now)
                    self._entries[slot] = entry
                    owner = True
                else:
                    owner = False
            if entry.fingerprint != print_:
                raise CentreError(CentreCode.IDEMPOTENCY_KEY_REUSED)
            if owner:
                return self._execute(slot, entry, fn)
            if not entry.done.wait(self.wait_seconds):
                raise CentreError(CentreCode.IDEMPOTENCY_IN_PROGRESS, retry_after=5)
            if entry.response is not None:
                replay = entry.response
                return dataclasses.replace(
                    replay, headers={**replay.headers, REPLAY_HEADER: "true"}
                )
            # the first attempt failed and released the key: run again

    def _execute(
        self, slot: tuple[str, str], entry: _Entry, fn: Callable[[], Response]
    ) -> Response:
        response: Response | None = None
        try:
            response = fn()
        finally:
            if response is not None and 200 <= response.status < 300:
                entry.response = response
            else:  # nothing was done: the key is free for a retry
                with self._lock:
                    self._entries.pop(slot, None)
            entry.done.set()
        return response

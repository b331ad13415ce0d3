"""Counts of a load run, kept per process and merged by the master.

Each Locust process (the local runner, or every worker) keeps a `Tally` of what its users
saw and judged; it hands over a delta (`take()`, plain JSON) on every report to the master
and once more when it stops. `Totals` merges the deltas and finds documents delivered twice
(the same document id in two transactions, across all workers).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

#: the problems that mean someone else's data is on the applicant's paper
CROSS_TALK_KINDS = frozenset({"cross_talk", "mixed_pages", "stranger_name"})
#: bad documents whose summary travels to the master (the evidence itself stays local)
MAX_BAD_SUMMARIES = 200


@dataclass
class Tally:
    started: int = 0
    completed: int = 0
    failed: int = 0
    refused: int = 0
    documents: int = 0
    bad_documents: int = 0
    crossed: int = 0
    lost: int = 0
    #: CPU time spent judging documents (process time around each judgement)
    judge_cpu_us: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    document_ids: list[str] = field(default_factory=list)
    bad: list[dict[str, Any]] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def round_ended(self, number: int, sessions: int, applicants: int, seconds: float) -> None:
        """A round of a `rounds` profile ended: its sessions, the distinct applicants they
        were for, and its time from the release to the last session's end."""
        with self._lock:
            self.rounds.append(
                {
                    "round": number,
                    "sessions": sessions,
                    "applicants": applicants,
                    "seconds": round(seconds, 3),
                }
            )

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def error(self, step: str, code: str) -> None:
        with self._lock:
            self.failed += 1
            self.errors[f"{step}:{code}"] += 1

    def refusal(self, step: str, code: str) -> None:
        with self._lock:
            self.refused += 1
            self.refusals[f"{step}:{code}"] += 1

    def document(
        self, document_id: str, problems: list[str], summary: dict[str, Any], kind: str = ""
    ) -> None:
        with self._lock:
            self.documents += 1
            if kind:
                self.by_type[kind] += 1
            self.document_ids.append(document_id)
            if problems:
                self.bad_documents += 1
                if CROSS_TALK_KINDS & set(problems):
                    self.crossed += 1
                self.problems.update(problems)
                if len(self.bad) < MAX_BAD_SUMMARIES:
                    self.bad.append(summary)

    def take(self) -> dict[str, Any]:
        """What happened since the last take, as plain JSON; the tally starts again."""
        with self._lock:
            fresh = Tally()
            delta: dict[str, Any] = {}
            for name in (f.name for f in fields(self) if f.name != "_lock"):
                value = getattr(self, name)
                delta[name] = dict(value) if isinstance(value, Counter) else value
                setattr(self, name, getattr(fresh, name))
            return delta


#: the plain counts a tally hands over: its int fields, in their order
COUNTS = tuple(f.name for f in fields(Tally) if f.type == "int")
#: the counts by kind (step:code, problem, certificate type) a tally hands over
BY_KIND = ("problems", "errors", "refusals", "by_type")


@dataclass
class Totals:
    """The whole run's counts, merged from every process's deltas."""

    counts: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    duplicated: int = 0
    bad: list[dict[str, Any]] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def merge(self, delta: dict[str, Any], source: str = "") -> None:
        with self._lock:
            for name in COUNTS:
                self.counts[name] += int(delta.get(name, 0))
            for name in BY_KIND:
                getattr(self, name).update(delta.get(name, {}))
            for doc in delta.get("document_ids", []):
                if doc in self._seen:
                    self.duplicated += 1
                else:
                    self._seen.add(doc)
            for item in delta.get("rounds", []):
                self.rounds.append({**item, "worker": source} if source else item)
            for item in delta.get("bad", []):
                if len(self.bad) < MAX_BAD_SUMMARIES:
                    self.bad.append({**item, "worker": source} if source else item)

    def finished(self) -> int:
        """Transactions that ended one way or another (completed, failed or refused)."""
        return self.counts["completed"] + self.counts["failed"] + self.counts["refused"]

    def cross_talk(self) -> int:
        """Documents with someone else's data on them."""
        return self.counts["crossed"]

    def error_rate(self) -> float:
        attempted = self.counts["completed"] + self.counts["failed"]
        return self.counts["failed"] / attempted if attempted else 0.0

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                **{name: self.counts[name] for name in COUNTS},
                "duplicated": self.duplicated,
                "cross_talk": self.cross_talk(),
                "error_rate": self.error_rate(),
                "problems": dict(self.problems),
                "errors": dict(self.errors),
                "refusals": dict(self.refusals),
                "documents_by_type": dict(self.by_type),
                "bad": list(self.bad),
                "rounds": sorted(self.rounds, key=lambda r: (r["round"], r.get("worker", ""))),
            }

"""Notices (お知らせ): the centre tells operators and municipalities about outages and
maintenance (seed II.7.2, II.7.3).

The centre is the hub of the fault contact procedure: a municipality reports its fault or
announces its maintenance to the centre, never to the operators; the centre shares it with
the operators (OPS-005, OPS-007) and tells the municipalities about the centre's and the
operators' maintenance and about a JPKI centre fault (OPS-006, OPS-008), and about a fault
of an operator's link, of a store or of the centre itself (OPS-011).

A `NoticeBoard` has three feeds, all on the rig clock:

- announced: the incident schedule (`municipal-maintenance`, `centre-maintenance`,
  `centre-outage`, `jpki-outage`, `lgwan-outage`) read at each call (each recorded in the
  evidence the first time it is listed), and operator maintenance announced with
  `announce_operator_maintenance` (the incident schedule has no kind for it);
- detected: the board's `down` opens a notice when the centre fails to reach a municipality
  (unreachable, time-out) or the JPKI responder (unavailable), and its `up` closes it (its
  `end`) at the first success after that; each transition is recorded in the evidence as
  monitoring;
- reported: a municipality's `POST /v1/notices` (LGPKI certificate, CN = its code), and an
  operator's `POST /v1/operator-reports` (kiosk-CA certificate, OU = the operator) for a fault
  of its link to the centre or of one of its stores.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from rig.core.calendar import IncidentKind, IncidentSchedule
from rig.core.evidence import EvidenceStore

#: Ended notices stay listed this long on the rig clock (a day's history for the screen).
HISTORY = timedelta(hours=24)
#: The board keeps at most this many detected and reported notices.
MAX_KEPT = 10_000


class Audience(StrEnum):
    OPERATORS = "operators"  # convenience-store operators (kiosk certificates)
    MUNICIPALITIES = "municipalities"  # municipal systems (LGPKI certificates)


class NoticeKind(StrEnum):
    MUNICIPAL_MAINTENANCE = "municipal-maintenance"
    CENTRE_MAINTENANCE = "centre-maintenance"
    OPERATOR_MAINTENANCE = "operator-maintenance"
    JPKI_OUTAGE = "jpki-outage"
    LGWAN_OUTAGE = "lgwan-outage"
    MUNICIPALITY_UNREACHABLE = "municipality-unreachable"
    JPKI_UNAVAILABLE = "jpki-unavailable"
    MUNICIPAL_FAULT = "municipal-fault"
    CENTRE_FAULT = "centre-fault"
    OPERATOR_LINK_FAULT = "operator-link-fault"
    STORE_FAULT = "store-fault"


BOTH = (Audience.OPERATORS, Audience.MUNICIPALITIES)
#: Who is told of what (seed II.7.2, II.7.3).
AUDIENCES: dict[NoticeKind, tuple[Audience, ...]] = {
    NoticeKind.MUNICIPAL_MAINTENANCE: (Audience.OPERATORS,),
    NoticeKind.CENTRE_MAINTENANCE: BOTH,
    NoticeKind.OPERATOR_MAINTENANCE: (Audience.MUNICIPALITIES,),
    NoticeKind.JPKI_OUTAGE: BOTH,
    NoticeKind.LGWAN_OUTAGE: BOTH,
    NoticeKind.MUNICIPALITY_UNREACHABLE: BOTH,
    NoticeKind.JPKI_UNAVAILABLE: BOTH,
    NoticeKind.MUNICIPAL_FAULT: (Audience.OPERATORS,),
    NoticeKind.CENTRE_FAULT: BOTH,
    # the operators' range fails: every municipality's residents are affected (seed II.7.2)
    NoticeKind.OPERATOR_LINK_FAULT: (Audience.MUNICIPALITIES,),
    NoticeKind.STORE_FAULT: (Audience.MUNICIPALITIES,),
}
_FROM_SCHEDULE = {
    IncidentKind.MUNICIPAL_MAINTENANCE: NoticeKind.MUNICIPAL_MAINTENANCE,
    IncidentKind.CENTRE_MAINTENANCE: NoticeKind.CENTRE_MAINTENANCE,
    IncidentKind.CENTRE_OUTAGE: NoticeKind.CENTRE_FAULT,
    IncidentKind.JPKI_OUTAGE: NoticeKind.JPKI_OUTAGE,
    IncidentKind.LGWAN_OUTAGE: NoticeKind.LGWAN_OUTAGE,
}
Origin = Literal["announced", "detected", "reported"]


class MunicipalReport(BaseModel):
    """`POST /v1/notices` body: a municipality's fault report or maintenance announcement."""

    # not strict: start/end arrive as ISO 8601 strings in the JSON body
    model_config = ConfigDict(extra="forbid")

    kind: Literal["fault", "maintenance"]
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _window(self) -> MunicipalReport:
        if self.kind == "maintenance" and (self.start is None or self.end is None):
            raise ValueError("maintenance needs start and end")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class OperatorReport(BaseModel):
    """`POST /v1/operator-reports` body: an operator's fault of its link or of a store."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["link-fault", "store-fault"]
    store: str | None = Field(default=None, min_length=1, max_length=64)
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _store(self) -> OperatorReport:
        if self.kind == "store-fault" and self.store is None:
            raise ValueError("a store fault names the store")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


@dataclass(frozen=True)
class Notice:
    id: str
    kind: NoticeKind
    origin: Origin
    start: datetime
    end: datetime | None  # None: still going on (a detected fault not yet recovered)
    municipality: str | None = None  # the municipality concerned; None = every one
    operator: str | None = None  # the operator concerned (its maintenance, link or store)
    note: str = ""
    store: str | None = None  # the store concerned (a store fault)

    @property
    def audience(self) -> tuple[Audience, ...]:
        return AUDIENCES[self.kind]

    def view(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "origin": self.origin,
            "audience": [a.value for a in self.audience],
            "municipality": self.municipality,
            "operator": self.operator,
            "store": self.store,
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end is not None else None,
            "active": self.start <= now and (self.end is None or now < self.end),
            "note": self.note,
        }


class NoticeBoard:
    """Every notice the centre has for its parties, and who may read which."""

    def __init__(
        self,
        now: Callable[[], datetime],
        schedule: IncidentSchedule,
        evidence: EvidenceStore | None = None,
    ):
        self.now = now
        self.schedule = schedule
        self.evidence = evidence
        self._kept: list[Notice] = []
        #: (kind, target) of detected notices still open: a success checks this set only
        self._open: set[tuple[NoticeKind, str | None]] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        #: ids of scheduled notices already recorded in the evidence
        self._recorded: set[str] = set()

    def _keep(self, notice: Notice) -> Notice:
        with self._lock:
            if len(self._kept) >= MAX_KEPT:
                self._kept.pop(0)
            self._kept.append(notice)
        self._record(notice, self.now())
        return notice

    def _record(self, notice: Notice, now: datetime) -> None:
        if self.evidence is not None:
            self.evidence.record("centre-notices", "notice", **notice.view(now))

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):06d}"

    # -- feeds -----------------------------------------------------------------------------
    def announce_operator_maintenance(
        self, operator: str, start: datetime, end: datetime, note: str = ""
    ) -> Notice:
        if end <= start:
            raise ValueError("maintenance ends after it starts")
        return self._keep(
            Notice(
                self._new_id("announced"),
                NoticeKind.OPERATOR_MAINTENANCE,
                "announced",
                start,
                end,
                operator=operator,
                note=note,
            )
        )

    def report(self, municipality: str, body: MunicipalReport) -> Notice:
        """A municipality's report: shared with the operators, never sent by it to them."""
        kind = (
            NoticeKind.MUNICIPAL_FAULT if body.kind == "fault" else NoticeKind.MUNICIPAL_MAINTENANCE
        )
        return self._reported(kind, body, municipality=municipality)

    def report_operator(self, operator: str, body: OperatorReport) -> Notice:
        """An operator's fault of its link or of a store: the municipalities are told."""
        kind = (
            NoticeKind.OPERATOR_LINK_FAULT if body.kind == "link-fault" else NoticeKind.STORE_FAULT
        )
        return self._reported(kind, body, operator=operator, store=body.store)

    def _reported(
        self, kind: NoticeKind, body: MunicipalReport | OperatorReport, **concerned: str | None
    ) -> Notice:
        """A reported notice, from the report's time (now when it gives none) to its end;
        `concerned`: its municipality, operator or store."""
        start = body.start or self.now()
        notice = Notice(
            self._new_id("reported"), kind, "reported", start, body.end, note=body.note, **concerned
        )
        return self._keep(notice)

    def detected(self, kind: NoticeKind, target: str | None, why: str) -> Notice | None:
        """Open a detected-fault notice unless one for (kind, target) is already open."""
        with self._lock:
            if (kind, target) in self._open:
                return None
            self._open.add((kind, target))
        return self._keep(
            Notice(self._new_id("detected"), kind, "detected", self.now(), None, target, note=why)
        )

    def recovered(self, kind: NoticeKind, target: str | None) -> Notice | None:
        """Close the open detected notice for (kind, target), ending it now."""
        now = self.now()
        with self._lock:
            if (kind, target) not in self._open:
                return None
            self._open.discard((kind, target))
            for i, notice in enumerate(self._kept):
                if notice.kind is kind and notice.municipality == target and notice.end is None:
                    closed = self._kept[i] = dataclasses.replace(notice, end=now)
                    break
            else:
                return None
        self._record(closed, now)
        return closed

    # -- the centre's monitoring of its own range: each outage it sees, and each recovery --
    def down(self, kind: NoticeKind, target: str | None, why: str) -> None:
        if self.detected(kind, target, why) is not None:
            self._monitored("fault_detected", kind, target, why=why)

    def up(self, kind: NoticeKind, target: str | None) -> None:
        if self.recovered(kind, target) is not None:
            self._monitored("recovered", kind, target)

    def _monitored(self, event: str, kind: NoticeKind, target: str | None, **data: Any) -> None:
        if self.evidence is not None:
            self.evidence.record(
                "centre-monitor", event, link=kind.value, municipality=target, **data
            )

    # -- reading ---------------------------------------------------------------------------
    def _scheduled(self) -> list[Notice]:
        return [
            Notice(
                f"schedule-{n:06d}",
                _FROM_SCHEDULE[incident.kind],
                "announced",
                incident.start,
                incident.end,
                municipality=incident.target or None,
                note=incident.note,
            )
            for n, incident in enumerate(self.schedule.incidents)
            if incident.kind in _FROM_SCHEDULE
        ]

    def all(self) -> list[Notice]:
        """Every notice not ended more than `HISTORY` ago, by start time."""
        horizon = self.now() - HISTORY
        with self._lock:
            kept = list(self._kept)
        scheduled = self._scheduled()
        self._record_scheduled(scheduled)
        current = [n for n in scheduled + kept if n.end is None or n.end > horizon]
        return sorted(current, key=lambda n: (n.start, n.id))

    def _record_scheduled(self, scheduled: list[Notice]) -> None:
        """Record each scheduled notice once, when it is first listed (it is then given out)."""
        with self._lock:
            new = [n for n in scheduled if n.id not in self._recorded]
            self._recorded.update(n.id for n in new)
        now = self.now()
        for notice in new:
            self._record(notice, now)

    def for_operators(self) -> list[Notice]:
        return [n for n in self.all() if Audience.OPERATORS in n.audience]

    def for_municipality(self, code: str) -> list[Notice]:
        """Notices for municipalities that concern every municipality or `code` itself."""
        return [
            n
            for n in self.all()
            if Audience.MUNICIPALITIES in n.audience and n.municipality in (None, code)
        ]

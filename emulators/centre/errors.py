"""Errors the centre answers with: its own (`CentreError`) and the municipality's, relayed.

Both become RFC 9457 problem documents through `rig.core.https.Problem`; the `code` member is
stable (rig.core.protocols.centre.CentreCode, `AccessCode` below for who may read which
statistics, or the municipal RefusalCode for relayed refusals).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rig.core.calendar import Incident
from rig.core.https import Problem, Refused
from rig.core.protocols.centre import CentreCode
from rig.core.protocols.reasons import Reason, ReasonCode


class AccessCode(ReasonCode):
    """Refusals of the statistics routes and of the operator binding (STAT-004, STAT-005).

    Kept apart from `CentreCode` because only statistics readers and operator-bound kiosks
    meet them; docs/api/centre.openapi.yaml lists them as `AccessCode`.
    """

    STATISTICS_OTHER_MUNICIPALITY = Reason(
        403,
        "Statistics of another municipality",
        "他の地方公共団体の統計情報は取得できません。",
    )
    STATISTICS_OTHER_OPERATOR = Reason(
        403, "Statistics of another operator", "他の事業者の統計情報は取得できません。"
    )
    OPERATOR_NOT_IDENTIFIED = Reason(
        403,
        "The client certificate names no operator (OU)",
        "事業者を確認できません。証明書を確認してください。",
    )
    OPERATOR_CERTIFICATE_MISMATCH = Reason(
        403, "operator_id differs from the client certificate", "この端末は利用できません。"
    )


class CentreError(Refused[CentreCode | AccessCode]):
    """Raised inside the centre's model; the API turns it into a problem document."""

    source = "centre"

    @classmethod
    def during(
        cls, code: CentreCode, incident: Incident, now: datetime, default: str | None = None
    ) -> CentreError:
        """Refused while `incident` lasts: its note (else `default`) as the detail, and
        Retry-After and `until` at its end."""
        return cls(
            code,
            incident.note or default,
            retry_after=int((incident.end - now).total_seconds()),
            until=incident.end.isoformat(),
        )


#: Members of a municipal problem document relayed to the kiosk unchanged.
_RELAYED_MEMBERS = ("message_ja", "tries_left", "available_on", "errors")


class MunicipalRefusal(Exception):
    """The municipality refused (its problem document); relayed with `source: municipality`."""

    def __init__(self, status: int, document: dict[str, Any], retry_after: str | None = None):
        self.status = status
        self.document = document
        self.retry_after = retry_after
        super().__init__(f"municipality {status} {document.get('code')}")

    @property
    def code(self) -> str:
        return str(self.document.get("code", ""))

    def problem(self) -> Problem:
        doc = self.document
        extensions = {k: doc[k] for k in _RELAYED_MEMBERS if k in doc}
        headers = {"Retry-After": self.retry_after} if self.retry_after else None
        return Problem(
            self.status,
            self.code,
            str(doc.get("title") or "Refused by the municipality"),
            doc.get("detail") if isinstance(doc.get("detail"), str) else None,
            headers=headers,
            source="municipality",
            **extensions,
        )

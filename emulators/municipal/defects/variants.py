"""The issuance server's defect pack: the 2023–2024 incidents and one defect per area.

川崎市 2023 and 高松市 2024 (a later request overwrites an earlier one), 徳島市 2023 (a
page of someone else's), 新潟市・さいたま市・熊本市 (a cancelled seal still certified),
a different household's data, a 支援措置 applicant not refused, the closing second
accepted, and statistics that count documents or sheets instead of copies (notes/domain.md).
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emulators.municipal.certificates import CertificateRequest, DocumentContent
from emulators.municipal.config import CertType, MunicipalityConfig
from emulators.municipal.models import Person
from emulators.municipal.reasons import Refusal, RefusalCode
from emulators.municipal.registry import age_on
from emulators.municipal.server import MunicipalServer
from emulators.municipal.service import IssuanceService, IssuanceSession, IssuedDocument
from rig.core.protocols.certificates import CertificateOptions

#: How long the cross-talk defect's link program takes to answer (its race window), seconds.
CROSS_TALK_WINDOW_S = 0.3
#: At most this many other residents are tried when a defect borrows someone else's data.
_OTHERS_TRIED = 40


def _other_content(
    service: IssuanceService,
    s: Session,
    config: MunicipalityConfig,
    person: Person,
    cert: CertType,
    options: CertificateOptions,
    today: date,
) -> DocumentContent | None:
    """The same certificate for an active resident of another household, if one qualifies."""
    others = s.scalars(
        select(Person)
        .where(
            Person.municipality == person.municipality,
            Person.status == "active",
            Person.household_id != person.household_id,
        )
        .order_by(Person.id)
        .limit(_OTHERS_TRIED)
    )
    for other in others:
        try:
            # the reference step, not the variant's own override (which would recurse)
            return IssuanceService._build_content(service, s, config, other, cert, options, today)
        except Refusal:
            continue
    return None


# -- isolation: 川崎市 2023, 高松市 2024 --------------------------------------------------------
class _CrossTalkService(IssuanceService):
    """A link program written for one server keeps "the current applicant" in one shared
    variable: two requests within its answer time both get the later applicant."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._current: str | None = None
        self._local = threading.local()

    def issue(self, code: str, session_id: str, request: CertificateRequest) -> IssuedDocument:
        self._current = super().session(code, session_id).person_id
        time.sleep(CROSS_TALK_WINDOW_S)  # the registry system's answer time
        self._local.person = self._current
        try:
            return super().issue(code, session_id, request)
        finally:
            self._local.person = None

    def session(self, code: str, session_id: str) -> IssuanceSession:
        session = super().session(code, session_id)
        person = getattr(self._local, "person", None)
        return replace(session, person_id=person) if person else session


class CrossTalkServer(MunicipalServer):
    service_class = _CrossTalkService


# -- isolation: 徳島市 2023 ---------------------------------------------------------------------
class _ForeignPageService(IssuanceService):
    """Page 2 of a multi-page certificate is taken from another resident's document."""

    def _build_content(
        self,
        s: Session,
        config: MunicipalityConfig,
        person: Person,
        cert: CertType,
        options: CertificateOptions,
        today: date,
    ) -> DocumentContent:
        content = super()._build_content(s, config, person, cert, options, today)
        if len(content.pages) < 2:
            return content
        other = _other_content(self, s, config, person, cert, options, today)
        if other is not None:
            content.pages[1] = other.pages[0]
        return content


class ForeignPageServer(MunicipalServer):
    service_class = _ForeignPageService


# -- wrong household / a different person's data -----------------------------------------
class _WrongHouseholdService(IssuanceService):
    """住民票 lists another household's members under the applicant's name and number."""

    def _build_content(
        self,
        s: Session,
        config: MunicipalityConfig,
        person: Person,
        cert: CertType,
        options: CertificateOptions,
        today: date,
    ) -> DocumentContent:
        content = super()._build_content(s, config, person, cert, options, today)
        if cert.type != "resident_record":
            return content
        other = _other_content(self, s, config, person, cert, options, today)
        return other if other is not None else content


class WrongHouseholdServer(MunicipalServer):
    service_class = _WrongHouseholdService


# -- stale data: 新潟市, さいたま市, 熊本市 -----------------------------------------------------
class _StaleSealService(IssuanceService):
    """印鑑登録証明書 content is cached per person: a seal cancelled after the first issue is
    still certified from the cache."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._seal_cache: dict[str, DocumentContent] = {}

    def _build_content(
        self,
        s: Session,
        config: MunicipalityConfig,
        person: Person,
        cert: CertType,
        options: CertificateOptions,
        today: date,
    ) -> DocumentContent:
        if cert.type != "seal_registration":
            return super()._build_content(s, config, person, cert, options, today)
        cached = self._seal_cache.get(person.id)
        if cached is None:
            cached = super()._build_content(s, config, person, cert, options, today)
            self._seal_cache[person.id] = cached
        return cached


class StaleSealServer(MunicipalServer):
    service_class = _StaleSealService


# -- refusals: 支援措置 ------------------------------------------------------------------------
class _SupportMeasureIgnoredService(IssuanceService):
    """A person under a 支援措置 (DV protection) request is not refused at authentication."""

    def _check_applicant(self, person: Person, today: date) -> None:
        if person.status == "deceased":
            raise Refusal(RefusalCode.RESIDENT_DECEASED)
        if age_on(person.birth_date, today) < 15:
            raise Refusal(RefusalCode.UNDER_15)


class SupportMeasureIgnoredServer(MunicipalServer):
    service_class = _SupportMeasureIgnoredService


# -- hours -----------------------------------------------------------------------------------
class _ClosingSecondService(IssuanceService):
    """The end of the service hours counted as open (`<=`): the closing second itself
    (e.g. 21:00:00) still issues."""

    def _check_open(
        self, config: MunicipalityConfig, when: datetime, cert_type: str | None = None
    ) -> None:
        try:
            super()._check_open(config, when, cert_type)
        except Refusal as exc:
            if exc.code is not RefusalCode.OUTSIDE_SERVICE_HOURS:
                raise
            super()._check_open(config, when - timedelta(seconds=1), cert_type)


class ClosingSecondServer(MunicipalServer):
    service_class = _ClosingSecondService


# -- statistics ------------------------------------------------------------------------------
class _CountsDocumentsService(IssuanceService):
    """Printed copies are counted per document, not per copy (通)."""

    def statistics(self, code: str, start: date, end: date) -> dict[str, Any]:
        answer = super().statistics(code, start, end)
        for group in answer["by_type"]:
            if group["printed_copies"]:
                group["printed_copies"] = group["documents"] - group["cancelled_documents"]
        answer["totals"]["printed_copies"] = sum(g["printed_copies"] for g in answer["by_type"])
        return answer


class CountsDocumentsServer(MunicipalServer):
    service_class = _CountsDocumentsService


class _CountsSheetsService(IssuanceService):
    """Printed copies are counted as sheets of paper (pages × copies), not copies (通): a
    three-page 住民票 printed once counts three."""

    def statistics(self, code: str, start: date, end: date) -> dict[str, Any]:
        answer = super().statistics(code, start, end)
        for group in answer["by_type"]:
            if group["copies"]:
                pages_per_copy = group["pages"] / group["copies"]
                group["printed_copies"] = round(group["printed_copies"] * pages_per_copy)
        answer["totals"]["printed_copies"] = sum(g["printed_copies"] for g in answer["by_type"])
        return answer


class CountsSheetsServer(MunicipalServer):
    service_class = _CountsSheetsService

"""The issuance service (証明発行サーバ) behaviour, independent of HTTP.

Sessions (per authenticated applicant), the menu, certificate issuance and statistics.
Every refusal is a `Refusal` with a code from `reasons.RefusalCode`. Each request reads the
registry in its own database session and renders its own PDF: nothing about an applicant
is kept in shared state except the session record keyed by a random id, which is how the
2023 cross-talk incidents (one applicant's data in another's certificate) are designed out.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from emulators.municipal import card_ap
from emulators.municipal.certificates import (
    CertificateRequest,
    DocumentContent,
    build_document,
    household_members,
    lookup,
)
from emulators.municipal.config import CATALOG, CertType, MunicipalityConfig
from emulators.municipal.hours import check_open
from emulators.municipal.models import Issuance, KosekiRegistration, Person, TaxRecord
from emulators.municipal.pdf import RenderedPdf, render
from emulators.municipal.reasons import Refusal, RefusalCode
from emulators.municipal.registry import Registry, age_on, full_name, latest_fiscal_year
from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.protocols.card_ap import CHALLENGE_LENGTH, CardApInfo, world_master_key
from rig.core.protocols.certificates import CertificateOptions

#: A session lives this long on the rig clock after authentication.
SESSION_TTL = timedelta(minutes=15)
#: A card-AP challenge must be answered within this time.
CHALLENGE_TTL = timedelta(minutes=2)
#: A document kept for URL download lives this long (or until downloaded once).
DOCUMENT_TTL = timedelta(minutes=10)

AuthMethod = Literal["jpki", "card_ap"]
#: The statistics' figures summed over the types (a cancelled document is counted by type only).
_TOTALLED = ("documents", "copies", "pages", "fees", "printed_copies")


@dataclass
class IssuanceSession:
    id: str
    municipality: str
    person_id: str
    method: AuthMethod
    expires_at: datetime
    resident: bool  # False: 本籍 only (a non-resident with kiosk use registered)
    card_user: str | None = None
    pin_verified: bool = True


@dataclass
class StoredDocument:
    municipality: str
    session_id: str
    data: bytes
    expires_at: datetime


@dataclass
class IssuedDocument:
    document_id: str
    cert: CertType
    rendered: RenderedPdf
    copies: int
    fee_per_copy: int
    resident_id: str
    issued_at: datetime
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        self.sha256 = hashlib.sha256(self.rendered.data).hexdigest()


class IssuanceService:
    def __init__(
        self,
        registry: Registry,
        configs: list[MunicipalityConfig],
        clock: RigClock,
        evidence: EvidenceStore | None = None,
        *,
        world_seed: str = "konbini-rig",
    ):
        self.registry = registry
        self.world_seed = world_seed
        self.configs = {c.code: c for c in configs}
        self.clock = clock
        self.evidence = evidence
        self._lock = threading.Lock()
        self._sessions: dict[str, IssuanceSession] = {}
        self._challenges: dict[str, tuple[str, str, datetime]] = {}
        self._documents: dict[str, StoredDocument] = {}
        self._doc_counter: dict[str, itertools.count[int]] = defaultdict(lambda: itertools.count(1))

    # -- helpers ---------------------------------------------------------------------------
    def config(self, code: str) -> MunicipalityConfig:
        config = self.configs.get(code)
        if config is None:
            raise Refusal(RefusalCode.MUNICIPALITY_UNKNOWN, f"unknown municipality {code!r}")
        return config

    def _record(self, event: str, **data: Any) -> None:
        if self.evidence is not None:
            self.evidence.record("municipal", event, **data)

    # -- authentication --------------------------------------------------------------------
    def _open_session(
        self, code: str, person_id: str, method: AuthMethod, card_user: str | None = None
    ) -> IssuanceSession:
        config = self.config(code)
        self._check_open(config, self.clock.now())
        today = self.clock.now().date()
        with self.registry.session() as s:
            person = s.get(Person, person_id)
            if person is None:
                raise Refusal(RefusalCode.RESIDENT_NOT_FOUND)
            self._check_applicant(person, today)
            resident = person.municipality == code and person.status == "active"
            if not resident:
                try:
                    self._check_koseki_registration(s, person, code, today)
                except Refusal as exc:
                    if (
                        person.municipality == code
                        and exc.code is RefusalCode.KOSEKI_NOT_REGISTERED
                    ):
                        # a former resident (転出済): say so, not "register your 本籍"
                        raise Refusal(RefusalCode.NOT_A_RESIDENT, "moved out") from None
                    raise
        session = IssuanceSession(
            id=secrets.token_urlsafe(18),
            municipality=code,
            person_id=person_id,
            method=method,
            expires_at=self.clock.now() + SESSION_TTL,
            resident=resident,
            card_user=card_user,
            pin_verified=method == "jpki",
        )
        with self._lock:
            self._sessions[session.id] = session
        self._record("session_opened", municipality=code, resident_id=person_id, method=method)
        return session

    def _check_open(
        self, config: MunicipalityConfig, when: datetime, cert_type: str | None = None
    ) -> None:
        """Service hours, closed days and maintenance (hours.check_open)."""
        check_open(config, when, cert_type)

    def _check_applicant(self, person: Person, today: date) -> None:
        """Who may never use the service: deceased, 支援措置 (DV protection), under 15."""
        if person.status == "deceased":
            raise Refusal(RefusalCode.RESIDENT_DECEASED)
        if person.dv_protected:
            raise Refusal(RefusalCode.SUPPORT_MEASURE)
        if age_on(person.birth_date, today) < 15:
            raise Refusal(RefusalCode.UNDER_15)

    def _build_content(
        self,
        s: Session,
        config: MunicipalityConfig,
        person: Person,
        cert: CertType,
        options: CertificateOptions,
        today: date,
    ) -> DocumentContent:
        """The certificate's content read from the registry (certificates.build_document)."""
        return build_document(s, config, person, cert, options, today)

    @staticmethod
    def _check_koseki_registration(s: Session, person: Person, code: str, today: date) -> None:
        if person.honseki_code != code:
            raise Refusal(RefusalCode.NOT_A_RESIDENT)
        reg = s.scalars(
            select(KosekiRegistration).where(
                KosekiRegistration.person_id == person.id,
                KosekiRegistration.municipality == code,
            )
        ).first()
        if reg is None:
            raise Refusal(RefusalCode.KOSEKI_NOT_REGISTERED)
        if reg.available_on > today:
            raise Refusal(
                RefusalCode.KOSEKI_REGISTRATION_PENDING, available_on=reg.available_on.isoformat()
            )

    def _check_method(self, config: MunicipalityConfig, method: AuthMethod) -> None:
        """A municipality may offer one method only (seed I.1 (4), II.1 (2)(4), II.3 (8))."""
        if method not in config.auth_methods:
            raise Refusal(
                RefusalCode.AUTH_METHOD_NOT_OFFERED,
                f"{config.name} offers {' and '.join(config.auth_methods)} only",
                method=method,
            )

    def authenticate_jpki(self, code: str, cert_serial: str) -> IssuanceSession:
        """The centre has verified the card's signature and OCSP; map the serial to a person."""
        self._check_method(self.config(code), "jpki")
        person_id = self.registry.person_for_serial(cert_serial)
        return self._open_session(code, person_id, "jpki")

    def card_ap_challenge(self, code: str, user_id: str) -> tuple[bytes, datetime]:
        config = self.config(code)
        self._check_method(config, "card_ap")
        self._check_open(config, self.clock.now())
        self._card_ap_user(code, user_id)
        challenge = secrets.token_bytes(CHALLENGE_LENGTH)
        expires = self.clock.now() + CHALLENGE_TTL
        with self._lock:
            self._challenges[challenge.hex()] = (code, user_id, expires)
        return challenge, expires

    def _card_ap_user(self, code: str, user_id: str) -> tuple[str, CardApInfo]:
        person_id, info = self.registry.card_ap_user(user_id)
        if info.municipality_code != code:
            # a card AP belongs to the municipality that issued it
            raise Refusal(RefusalCode.CARD_AP_USER_UNKNOWN, "registered with another municipality")
        return person_id, info

    def authenticate_card_ap(
        self, code: str, user_id: str, challenge: bytes, response: bytes
    ) -> IssuanceSession:
        self._check_method(self.config(code), "card_ap")
        with self._lock:
            entry = self._challenges.pop(challenge.hex(), None)
        if entry is None or entry[0] != code or entry[1] != user_id or entry[2] < self.clock.now():
            raise Refusal(RefusalCode.CHALLENGE_UNKNOWN)
        person_id, info = self._card_ap_user(code, user_id)
        master = world_master_key(self.world_seed, code)  # never stored
        if not card_ap.verify_card_response(master, info, challenge, response):
            self._record("card_response_invalid", municipality=code, user_id=user_id)
            raise Refusal(RefusalCode.CARD_RESPONSE_INVALID)
        return self._open_session(code, person_id, "card_ap", card_user=user_id)

    def session(self, code: str, session_id: str) -> IssuanceSession:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or session.municipality != code:
                raise Refusal(RefusalCode.SESSION_UNKNOWN)
            if session.expires_at <= self.clock.now():
                del self._sessions[session_id]
                raise Refusal(RefusalCode.SESSION_EXPIRED)
            return session

    def verify_pin(self, code: str, session_id: str, pin: str) -> None:
        session = self.session(code, session_id)
        if session.method != "card_ap" or session.card_user is None:
            return  # JPKI: the card checked the PIN already
        self.registry.verify_pin(session.card_user, pin, self.config(code).card_ap_pin_tries)
        session.pin_verified = True

    def close_session(self, code: str, session_id: str) -> None:
        self.session(code, session_id)
        with self._lock:
            self._sessions.pop(session_id, None)
            for doc_id in [d for d, v in self._documents.items() if v.session_id == session_id]:
                del self._documents[doc_id]

    # -- menu ------------------------------------------------------------------------------
    def menu(self, code: str, session_id: str) -> dict[str, Any]:
        session = self.session(code, session_id)
        config = self.config(code)
        now = self.clock.now()
        today = now.date()
        items = []
        with self.registry.session() as s:
            person = s.get(Person, session.person_id)
            assert person is not None
            members = household_members(s, person) if session.resident else []
            newest = latest_fiscal_year(today)
            years = sorted(
                y
                for y in s.scalars(
                    select(TaxRecord.fiscal_year).where(TaxRecord.person_id == person.id)
                )
                if y <= newest
            )
            for cert in CATALOG:
                fee = config.fees.get(cert.fee_key)
                if fee is None:
                    continue
                refusal = None
                try:
                    self._check_type(session, config, cert, now)
                    self._build_content(
                        s, config, person, cert, _default_options(cert, years), today
                    )
                except Refusal as exc:
                    refusal = {"code": exc.code.code, "message_ja": exc.code.value.message_ja}
                items.append(
                    {
                        "type": cert.type,
                        "variant": cert.variant,
                        "title": cert.title,
                        "fee": fee,
                        "paper": config.paper_for(cert.type),
                        "options": list(cert.options),
                        "available": refusal is None,
                        "refusal": refusal,
                    }
                )
        # Before the card-AP PIN only the types and fees may be shown: whoever holds the card
        # must not learn the household's names, relations or tax years (seed I.4.3).
        personal = session.method != "card_ap" or session.pin_verified
        return {
            "municipality": {"code": config.code, "name": config.name},
            "applicant": {
                "resident": session.resident,
                "name": full_name(person) if personal else None,
            },
            "pin_required": not session.pin_verified,
            "max_copies": config.max_copies,
            "household": [
                {"member_id": m.id, "name": full_name(m), "relationship": m.relationship}
                for m in members
            ]
            if personal
            else [],
            "tax_years": years if personal else [],
            "certificates": items,
        }

    def _check_type(
        self, session: IssuanceSession, config: MunicipalityConfig, cert: CertType, now: datetime
    ) -> int:
        fee = config.fees.get(cert.fee_key)
        if fee is None:
            raise Refusal(
                RefusalCode.TYPE_NOT_OFFERED, f"{config.name} does not issue {cert.title}"
            )
        self._check_open(config, now, cert.type)
        if not session.resident and cert.type not in ("koseki", "fuhyo"):
            raise Refusal(RefusalCode.NOT_A_RESIDENT, "only 戸籍 and 附票 for a non-resident")
        return fee

    # -- issuance --------------------------------------------------------------------------
    def issue(self, code: str, session_id: str, request: CertificateRequest) -> IssuedDocument:
        session = self.session(code, session_id)
        if not session.pin_verified:
            raise Refusal(RefusalCode.PIN_REQUIRED)
        config = self.config(code)
        try:
            cert = lookup(request.type, request.variant)
        except ValueError as exc:
            raise InvalidRequest([{"loc": ["variant"], "msg": str(exc)}]) from None
        if request.copies > config.max_copies:
            raise InvalidRequest(
                [{"loc": ["copies"], "msg": f"at most {config.max_copies} copies"}]
            )
        now = self.clock.now()
        fee = self._check_type(session, config, cert, now)
        with self.registry.session() as s:
            person = s.get(Person, session.person_id)
            if person is None:
                raise Refusal(RefusalCode.RESIDENT_NOT_FOUND)
            content = self._build_content(s, config, person, cert, request.options, now.date())
        with self._lock:
            seq = next(self._doc_counter[code])
        document_id = f"{code}-{now:%Y%m%d}-{seq:06d}"
        rendered = render(
            content, config, document_id=document_id, resident_id=person.id, issued_on=now.date()
        )
        issued = IssuedDocument(
            document_id=document_id,
            cert=cert,
            rendered=rendered,
            copies=request.copies,
            fee_per_copy=fee,
            resident_id=person.id,
            issued_at=now,
        )
        with self.registry.write_lock, self.registry.session() as s:
            s.add(
                Issuance(
                    document_id=document_id,
                    municipality=code,
                    cert_type=cert.type,
                    variant=cert.variant,
                    person_id=person.id,
                    auth_method=session.method,
                    copies=request.copies,
                    pages=rendered.pages,
                    fee_per_copy=fee,
                    issued_at=now.isoformat(),
                    issued_on=now.date(),
                )
            )
            s.commit()
        if request.delivery == "url":
            with self._lock:
                self._documents[document_id] = StoredDocument(
                    code, session_id, rendered.data, now + DOCUMENT_TTL
                )
        self._record(
            "issued",
            municipality=code,
            document_id=document_id,
            type=cert.type,
            variant=cert.variant,
            resident_id=person.id,
            pages=rendered.pages,
            copies=request.copies,
            subjects=content.subject_ids,
            sha256=issued.sha256,
        )
        return issued

    def take_document(self, code: str, document_id: str) -> bytes:
        """A document kept for download: handed out once, then forgotten."""
        with self._lock:
            stored = self._documents.pop(document_id, None)
        if stored is None or stored.municipality != code or stored.expires_at < self.clock.now():
            raise Refusal(RefusalCode.DOCUMENT_NOT_FOUND)
        return stored.data

    def report_result(self, code: str, document_id: str, outcome: str, copies_printed: int) -> None:
        with self.registry.write_lock, self.registry.session() as s:
            row = s.get(Issuance, document_id)
            if row is None or row.municipality != code:
                raise Refusal(RefusalCode.DOCUMENT_NOT_FOUND)
            if copies_printed > row.copies:
                raise InvalidRequest(
                    [{"loc": ["copies_printed"], "msg": f"at most {row.copies} were requested"}]
                )
            row.outcome = outcome
            row.copies_printed = copies_printed
            s.commit()
        self._record("result", municipality=code, document_id=document_id, outcome=outcome)

    # -- statistics ------------------------------------------------------------------------
    def statistics(self, code: str, start: date, end: date) -> dict[str, Any]:
        config = self.config(code)
        with self.registry.session() as s:
            rows = s.scalars(
                select(Issuance).where(
                    Issuance.municipality == code,
                    Issuance.issued_on >= start,
                    Issuance.issued_on <= end,
                )
            ).all()
        groups: dict[tuple[str, str | None], dict[str, Any]] = {}
        for row in rows:
            g = groups.setdefault(
                (row.cert_type, row.variant),
                {
                    "type": row.cert_type,
                    "variant": row.variant,
                    **dict.fromkeys(_TOTALLED, 0),
                    "cancelled_documents": 0,
                },
            )
            g["documents"] += 1
            g["copies"] += row.copies
            g["pages"] += row.copies * row.pages
            g["fees"] += row.copies * row.fee_per_copy
            g["printed_copies"] += row.copies_printed
            g["cancelled_documents"] += row.outcome == "cancelled"
        by_type = sorted(groups.values(), key=lambda g: (g["type"], g["variant"] or ""))
        totals = {k: sum(g[k] for g in by_type) for k in _TOTALLED}
        return {
            "municipality": config.code,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "totals": totals,
            "by_type": by_type,
        }


class InvalidRequest(Exception):
    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__("invalid request")
        self.errors = errors


def _default_options(cert: CertType, years: list[int]) -> CertificateOptions:
    if cert.type == "tax_certificate" and years:
        return CertificateOptions(fiscal_year=years[-1])
    return CertificateOptions()


__all__ = ["InvalidRequest", "IssuanceService", "IssuedDocument", "latest_fiscal_year"]

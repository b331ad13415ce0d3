"""The issuance centre's behaviour (証明書交付センター), independent of HTTP.

A kiosk opens a session, authenticates the customer (JPKI at the centre, or card AP relayed
to the municipality), reads the municipality's menu, requests certificates, downloads each
printable document, confirms payment and reports completion; or cancels. The centre routes
every municipal call by municipality code, applies the processing stage to each document,
checks that every page belongs to the applicant, counts issuances, and keeps no certificate
data once a request is completed, cancelled or timed out (docs/centre.md).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from emulators.centre.errors import CentreError, MunicipalRefusal
from emulators.centre.hours import ServiceWindow
from emulators.centre.jpki import JpkiVerifier
from emulators.centre.lgwan import MunicipalLink
from emulators.centre.processing import (
    MarkStage,
    ProcessedDocument,
    ProcessingError,
    StageContext,
)
from emulators.centre.statistics import CentreRecords, IssuanceRow
from emulators.centre.transactions import (
    IssuedRequest,
    KioskSession,
    RequestState,
    SessionState,
    SessionTable,
)
from rig.core.calendar import IncidentKind
from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.protocols.centre import (
    API_PREFIX,
    NONCE_BYTES,
    CardApAuth,
    CardApChallengeRequest,
    CentreCode,
    CertificateRequest,
    Completion,
    JpkiAuth,
    OpenSession,
    Payment,
    PinEntry,
)

_ANSWER_FIELDS: dict[str, type] = {
    "document_id": str,
    "title": str,
    "paper": str,
    "pages": int,
    "copies": int,
    "fee_per_copy": int,
    "resident_id": str,
    "pdf_base64": str,
}


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CentreError(
            CentreCode.INVALID_REQUEST,
            f"{what} is not base64",
            errors=[{"loc": [what], "msg": "not base64", "type": "base64"}],
        ) from exc


class CentreService:
    def __init__(
        self,
        clock: RigClock,
        window: ServiceWindow,
        link: MunicipalLink,
        verifier: JpkiVerifier,
        records: CentreRecords,
        stage: MarkStage,
        evidence: EvidenceStore | None = None,
    ):
        self.clock = clock
        self.window = window
        self.link = link
        self.verifier = verifier
        self.records = records
        self.stage = stage
        self.evidence = evidence
        self.sessions = SessionTable()

    # -- helpers ---------------------------------------------------------------------------
    def _record(self, event: str, **data: Any) -> None:
        if self.evidence is not None:
            self.evidence.record("centre", event, **data)

    @contextmanager
    def _use(self, kiosk_id: str, session_id: str, new: bool = False) -> Iterator[KioskSession]:
        """The live session, locked for one operation; purged first if past its deadline.
        `new`: the operation starts something new (refused outside the service window)."""
        self.purge_due()
        session = self.sessions.get(session_id, kiosk_id)
        with session.lock:
            if self.sessions.get(session_id, kiosk_id) is not session:
                raise CentreError(CentreCode.SESSION_UNKNOWN)
            if new:
                self.window.check_new(self.clock.now())
            yield session

    def purge_due(self) -> int:
        """Purge every session past its deadline on the rig clock; how many were purged."""
        due = self.sessions.due(self.clock.now())
        for session_id in due:
            self._purge(session_id, "expired")
        return len(due)

    def _purge(self, session_id: str, why: str) -> None:
        session = self.sessions.remove(session_id, why)
        if session is None:
            return
        with session.lock:
            outstanding = [r.document_id for r in session.requests.values() if r.open]
            for r in session.requests.values():
                r.pdf = None
                if r.open:
                    r.state = RequestState.CANCELLED
            code, municipal_session = session.municipality, session.municipal_session
        self._record("session_closed", session=session_id, why=why, cancelled=len(outstanding))
        if code is None:
            return
        for document_id in outstanding:
            self._report(code, document_id, "cancelled", 0)
        if municipal_session is not None:
            # best effort: the municipal session times out by itself anyway
            with contextlib.suppress(CentreError, MunicipalRefusal):
                self.link.call(code, "DELETE", f"/sessions/{municipal_session}")

    def _report(self, code: str, document_id: str, outcome: str, copies: int) -> None:
        """Tell the municipality what was printed; owed (kept in SQLite) while unreachable."""
        try:
            self._post_result(code, document_id, outcome, copies)
        except MunicipalRefusal as refusal:
            self._record("result_refused", municipality=code, code=refusal.code)
            return
        except CentreError as exc:
            self.records.owe_result(document_id, code, outcome, copies)
            self._record("result_owed", municipality=code, code=exc.code.code)
            return
        for owed, owed_outcome, owed_copies in self.records.owed_results(code):
            try:
                self._post_result(code, owed, owed_outcome, owed_copies)
            except MunicipalRefusal:
                pass  # refused for good: nothing more to deliver
            except CentreError:
                return
            self.records.result_delivered(owed)

    def _post_result(self, code: str, document_id: str, outcome: str, copies: int) -> None:
        body = {"outcome": outcome, "copies_printed": copies}
        self.link.call(code, "POST", f"/documents/{document_id}/result", body)

    def _expire(self, session_id: str) -> None:
        session_ids = self.sessions.due(self.clock.now())
        if session_id in session_ids:
            self._purge(session_id, "expired")

    # -- session ---------------------------------------------------------------------------
    def open_session(self, kiosk_id: str, body: OpenSession) -> KioskSession:
        if body.kiosk_id != kiosk_id:
            raise CentreError(
                CentreCode.KIOSK_CERTIFICATE_MISMATCH, "kiosk_id must equal the certificate's CN"
            )
        now = self.clock.now()
        self.purge_due()
        self.window.check_new(now)
        session = KioskSession(
            id=secrets.token_urlsafe(18),
            kiosk_id=kiosk_id,
            store_id=body.store_id,
            operator_id=body.operator_id,
            opened_at=now,
            closes_at=self.window.hours.next_closing(now),
            deadline=self.window.deadline(now),
            nonce=secrets.token_bytes(NONCE_BYTES),
        )
        self.sessions.add(session)
        self.clock.call_at(session.deadline, lambda: self._expire(session.id))
        self._record(
            "session_opened",
            session=session.id,
            kiosk=kiosk_id,
            store=body.store_id,
            operator=body.operator_id,
        )
        return session

    def session_view(self, session: KioskSession) -> dict[str, Any]:
        return {
            "session_id": session.id,
            "state": session.state.value,
            "method": session.method,
            "municipality_code": session.municipality,
            "nonce": session.nonce.hex() if session.nonce not in session.used_nonces else None,
            "opened_at": session.opened_at.isoformat(),
            "closes_at": session.closes_at.isoformat(),
            "expires_at": session.deadline.isoformat(),
            "requests": [self.request_view(session, r) for r in session.requests.values()],
        }

    def view(self, kiosk_id: str, session_id: str) -> dict[str, Any]:
        with self._use(kiosk_id, session_id) as session:
            return self.session_view(session)

    def fresh_nonce(self, kiosk_id: str, session_id: str) -> dict[str, Any]:
        with self._use(kiosk_id, session_id, new=True) as session:
            if session.state not in (SessionState.OPEN, SessionState.CARD_CHALLENGED):
                raise CentreError(CentreCode.ALREADY_AUTHENTICATED)
            session.nonce = secrets.token_bytes(NONCE_BYTES)
            return {"nonce": session.nonce.hex(), "expires_at": session.deadline.isoformat()}

    def end_session(self, kiosk_id: str, session_id: str) -> None:
        with self._use(kiosk_id, session_id):
            pass
        self._purge(session_id, "ended")

    # -- authentication ----------------------------------------------------------------------
    @staticmethod
    def _auth_view(session: KioskSession) -> dict[str, Any]:
        return {
            "state": session.state.value,
            "method": session.method,
            "municipality_code": session.municipality,
            "pin_required": session.state is SessionState.PIN_REQUIRED,
        }

    @staticmethod
    def _require_unauthenticated(session: KioskSession) -> None:
        if session.state in (SessionState.AUTHENTICATED, SessionState.PIN_REQUIRED):
            raise CentreError(CentreCode.ALREADY_AUTHENTICATED)

    def authenticate_jpki(self, kiosk_id: str, session_id: str, body: JpkiAuth) -> dict[str, Any]:
        with self._use(kiosk_id, session_id) as session:
            now = self.clock.now()
            self.window.check_new(now)
            self._require_unauthenticated(session)
            outage = self.window.incidents.active(IncidentKind.JPKI_OUTAGE, now)
            if outage is not None:
                raise CentreError.during(
                    CentreCode.JPKI_UNAVAILABLE, outage, now, "JPKI centre outage"
                )
            nonce = bytes.fromhex(body.nonce)
            if nonce in session.used_nonces:
                raise CentreError(CentreCode.NONCE_REPLAYED)
            if nonce != session.nonce:
                raise CentreError(CentreCode.NONCE_MISMATCH)
            session.used_nonces.add(nonce)  # spent whatever the outcome: never signed twice
            cert_der = _b64(body.certificate, "certificate")
            signature = _b64(body.signature, "signature")
            cert = self.verifier.verify(cert_der, signature, nonce, now)
            code = self.records.jpki_municipality(cert.serial_number)
            if code is None:
                raise CentreError(CentreCode.JPKI_HOLDER_UNREGISTERED)
            answer = self.link.call_json(
                code, "POST", "/auth/jpki", {"cert_serial": f"{cert.serial_number:x}"}
            )
            session.municipal_session = _municipal_session(answer, code)
            session.municipality = code
            session.method = "jpki"
            session.state = SessionState.AUTHENTICATED
            self._record("authenticated", session=session_id, method="jpki", municipality=code)
            return self._auth_view(session)

    def card_ap_challenge(
        self, kiosk_id: str, session_id: str, body: CardApChallengeRequest
    ) -> dict[str, Any]:
        with self._use(kiosk_id, session_id, new=True) as session:
            self._require_unauthenticated(session)
            code = body.municipality_code
            answer = self.link.call_json(
                code, "POST", "/auth/card-ap/challenge", {"user_id": body.user_id}
            )
            challenge = answer.get("challenge")
            if not isinstance(challenge, str):
                raise CentreError(CentreCode.MUNICIPALITY_ERROR, "no challenge in the answer")
            session.municipality = code
            session.card_user = body.user_id
            session.challenge = challenge.lower()
            session.state = SessionState.CARD_CHALLENGED
            return {"challenge": session.challenge, "expires_at": answer.get("expires_at")}

    def authenticate_card_ap(
        self, kiosk_id: str, session_id: str, body: CardApAuth
    ) -> dict[str, Any]:
        with self._use(kiosk_id, session_id, new=True) as session:
            if session.state is not SessionState.CARD_CHALLENGED or session.challenge is None:
                self._require_unauthenticated(session)
                raise CentreError(CentreCode.CHALLENGE_NOT_REQUESTED)
            if body.challenge != session.challenge:
                raise CentreError(CentreCode.CHALLENGE_NOT_REQUESTED, "not the pending challenge")
            code, user = session.municipality, session.card_user
            assert code is not None and user is not None
            session.challenge = None  # single use, whatever the answer
            session.state = SessionState.OPEN
            answer = self.link.call_json(
                code,
                "POST",
                "/auth/card-ap",
                {"user_id": user, "challenge": body.challenge, "response": body.response},
            )
            session.municipal_session = _municipal_session(answer, code)
            session.method = "card_ap"
            session.state = (
                SessionState.PIN_REQUIRED
                if answer.get("pin_required", True)
                else SessionState.AUTHENTICATED
            )
            self._record("card_verified", session=session_id, municipality=code)
            return self._auth_view(session)

    def verify_pin(self, kiosk_id: str, session_id: str, body: PinEntry) -> dict[str, Any]:
        with self._use(kiosk_id, session_id, new=True) as session:
            if session.state is not SessionState.PIN_REQUIRED:
                raise CentreError(CentreCode.PIN_NOT_EXPECTED)
            code, municipal = session.municipality, session.municipal_session
            assert code is not None and municipal is not None
            self.link.call_json(code, "POST", f"/sessions/{municipal}/pin", {"pin": body.pin})
            session.state = SessionState.AUTHENTICATED
            self._record("authenticated", session=session_id, method="card_ap", municipality=code)
            return self._auth_view(session)

    # -- menu and requests -------------------------------------------------------------------
    @staticmethod
    def _authenticated(session: KioskSession) -> tuple[str, str]:
        if session.state is not SessionState.AUTHENTICATED:
            raise CentreError(CentreCode.NOT_AUTHENTICATED)
        assert session.municipality is not None and session.municipal_session is not None
        return session.municipality, session.municipal_session

    def menu(self, kiosk_id: str, session_id: str) -> dict[str, Any]:
        with self._use(kiosk_id, session_id, new=True) as session:
            code, municipal = self._authenticated(session)
            return self.link.call_json(code, "GET", f"/sessions/{municipal}/menu")

    def request_certificate(
        self, kiosk_id: str, session_id: str, body: CertificateRequest
    ) -> dict[str, Any]:
        """Issue one certificate through the municipality; the receipt (no document in it)."""
        with self._use(kiosk_id, session_id) as session:
            now = self.clock.now()
            self.window.check_new(now)
            code, municipal = self._authenticated(session)
            payload = body.model_dump(mode="json")
            payload["delivery"] = "inline"
            answer = self.link.call_json(
                code, "POST", f"/sessions/{municipal}/certificates", payload
            )
            fields = self._check_answer(code, answer, body.copies)
            request_id = secrets.token_urlsafe(12)
            ctx = StageContext(fields["document_id"], request_id, code, now)
            try:
                processed = self.stage(_b64_answer(answer["pdf_base64"]), ctx)
            except ProcessingError as exc:
                self._report(code, fields["document_id"], "cancelled", 0)
                raise CentreError(CentreCode.PROCESSING_FAILED, str(exc)) from exc
            finally:
                answer.pop("pdf_base64", None)  # the municipality's copy is not kept
            self._check_pages(session, code, fields, processed)
            issued = IssuedRequest(
                id=request_id,
                document_id=fields["document_id"],
                cert_type=body.type,
                variant=body.variant,
                title=fields["title"],
                paper=fields["paper"],
                pages=fields["pages"],
                sides=processed.sides,
                duplex=processed.duplex,
                copies=body.copies,
                fee_per_copy=fields["fee_per_copy"],
                issued_at=now,
                sha256=processed.sha256,
                pdf=processed.pdf,
            )
            session.requests[request_id] = issued
            self._record(
                "issued",
                session=session_id,
                request=request_id,
                municipality=code,
                type=body.type,
                variant=body.variant,
                copies=body.copies,
                pages=issued.pages,
                sha256=issued.sha256,
            )
            return self.request_view(session, issued)

    def _check_answer(self, code: str, answer: dict[str, Any], copies: int) -> dict[str, Any]:
        bad = [k for k, kind in _ANSWER_FIELDS.items() if not isinstance(answer.get(k), kind)]
        if bad or answer.get("copies") != copies or answer.get("pages", 0) < 1:
            if isinstance(answer.get("document_id"), str):
                self._report(code, answer["document_id"], "cancelled", 0)
            raise CentreError(CentreCode.MUNICIPALITY_ERROR, f"malformed answer ({bad})")
        return {k: answer[k] for k in _ANSWER_FIELDS}

    def _check_pages(
        self,
        session: KioskSession,
        code: str,
        fields: dict[str, Any],
        processed: ProcessedDocument,
    ) -> None:
        """Every page must carry the applicant's resident id (the 2023 cross-talk guard)."""
        resident = fields["resident_id"]
        total = len(processed.pages)
        marked = any(p.resident_id is not None for p in processed.pages)
        wrong = [
            p.number
            for p in processed.pages
            if marked
            and (
                p.resident_id != resident
                or p.document_id != fields["document_id"]
                or p.page_label != (p.number, total)
            )
        ]
        if total != fields["pages"]:
            wrong.append(0)
        if session.resident_ref is not None and session.resident_ref != resident:
            wrong.append(-1)
        if wrong:
            self._report(code, fields["document_id"], "cancelled", 0)
            self._record("document_mismatch", session=session.id, municipality=code, pages=wrong)
            raise CentreError(CentreCode.DOCUMENT_MISMATCH, f"pages {wrong}")
        session.resident_ref = resident

    def request_view(self, session: KioskSession, r: IssuedRequest) -> dict[str, Any]:
        return {
            "request_id": r.id,
            "state": r.state.value,
            "type": r.cert_type,
            "variant": r.variant,
            "title": r.title,
            "paper": r.paper,
            "pages": r.pages,
            "sides": r.sides,
            "duplex": r.duplex,
            "copies": r.copies,
            "fee_per_copy": r.fee_per_copy,
            "total_fee": r.total_fee,
            "issued_at": r.issued_at.isoformat(),
            "sha256": r.sha256,
            "downloaded": r.downloaded,
            "paid_yen": r.paid_yen,
            "copies_printed": r.copies_printed,
            "document_url": f"{API_PREFIX}/sessions/{session.id}/requests/{r.id}/document",
        }

    def request_status(self, kiosk_id: str, session_id: str, request_id: str) -> dict[str, Any]:
        with self._use(kiosk_id, session_id) as session:
            return self.request_view(session, session.request(request_id))

    def download(self, kiosk_id: str, session_id: str, request_id: str) -> tuple[bytes, str]:
        with self._use(kiosk_id, session_id) as session:
            r = session.request(request_id)
            if not r.open or r.pdf is None:
                raise CentreError(CentreCode.REQUEST_CLOSED, f"request is {r.state.value}")
            if not r.downloaded:
                self.window.check_new(self.clock.now())
                r.downloaded = True
                self._record("downloaded", session=session_id, request=request_id)
            return r.pdf, r.sha256

    def pay(self, kiosk_id: str, session_id: str, request_id: str, body: Payment) -> dict[str, Any]:
        with self._use(kiosk_id, session_id) as session:
            r = session.request(request_id)
            if not r.open:
                raise CentreError(CentreCode.REQUEST_CLOSED, f"request is {r.state.value}")
            if not r.downloaded:
                self.window.check_new(self.clock.now())
            if r.paid_yen is not None:
                raise CentreError(CentreCode.ALREADY_PAID)
            if body.amount_yen != r.total_fee:
                raise CentreError(
                    CentreCode.PAYMENT_MISMATCH,
                    f"the fee is {r.total_fee} yen",
                    total_fee=r.total_fee,
                )
            r.paid_yen = body.amount_yen
            self._record(
                "paid",
                session=session_id,
                request=request_id,
                yen=body.amount_yen,
                method=body.method,
            )
            return self.request_view(session, r)

    def complete(
        self, kiosk_id: str, session_id: str, request_id: str, body: Completion
    ) -> dict[str, Any]:
        with self._use(kiosk_id, session_id) as session:
            r = session.request(request_id)
            if not r.open:
                raise CentreError(CentreCode.REQUEST_CLOSED, f"request is {r.state.value}")
            if body.copies_printed > r.copies or (
                body.outcome == "printed" and body.copies_printed < 1
            ):
                raise CentreError(
                    CentreCode.INVALID_REQUEST,
                    f"copies_printed must be 1–{r.copies} when printed, 0–{r.copies} when failed",
                    errors=[{"loc": ["copies_printed"], "msg": "out of range", "type": "range"}],
                )
            if body.copies_printed > 0:
                if not r.downloaded:
                    raise CentreError(CentreCode.DOCUMENT_NOT_DOWNLOADED)
                if r.paid_yen is None:
                    raise CentreError(CentreCode.PAYMENT_REQUIRED)
            code = session.municipality
            assert code is not None
            now = self.clock.now()
            r.pdf = None
            r.copies_printed = body.copies_printed
            r.state = RequestState.COMPLETED if body.outcome == "printed" else RequestState.FAILED
            if body.copies_printed > 0:
                self.records.record_issuance(
                    IssuanceRow(
                        request_id=r.id,
                        municipality=code,
                        store_id=session.store_id,
                        operator_id=session.operator_id,
                        kiosk_id=session.kiosk_id,
                        cert_type=r.cert_type,
                        variant=r.variant,
                        copies=body.copies_printed,
                        fee_per_copy=r.fee_per_copy,
                        issued_at=now,
                    )
                )
            self._record(
                "completed",
                session=session_id,
                request=request_id,
                outcome=body.outcome,
                copies=body.copies_printed,
            )
            view = self.request_view(session, r)
        # the municipality hears after the customer is done: a slow LGWAN must not hold the kiosk
        self._report(
            code,
            r.document_id,
            "printed" if body.copies_printed else "cancelled",
            body.copies_printed,
        )
        return view

    def cancel_request(self, kiosk_id: str, session_id: str, request_id: str) -> None:
        with self._use(kiosk_id, session_id) as session:
            r = session.request(request_id)
            if r.state is RequestState.CANCELLED:
                return
            if not r.open:
                raise CentreError(CentreCode.REQUEST_CLOSED, f"request is {r.state.value}")
            r.pdf = None
            r.state = RequestState.CANCELLED
            code = session.municipality
            assert code is not None
            self._record("cancelled", session=session_id, request=request_id)
        self._report(code, r.document_id, "cancelled", 0)


def _municipal_session(answer: dict[str, Any], code: str) -> str:
    value = answer.get("session_id")
    if not isinstance(value, str) or not value or "/" in value:
        raise CentreError(CentreCode.MUNICIPALITY_ERROR, f"{code}: no session id")
    return value


def _b64_answer(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProcessingError("pdf_base64 is not base64") from exc

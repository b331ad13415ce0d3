"""Kiosk-side client for the issuance centre's API (証明書交付センター), over HTTPS.

One typed method per call of docs/api/centre.openapi.yaml. The client presents the kiosk's
client certificate (kiosk CA) and trusts only the given server CA. An error answer raises
`CentreApiError` carrying the problem document's `code` (docs/centre.md lists them); a success
answer the client cannot read (not JSON, or not the shape the API gives) raises its subclass
`CentreAnswerError`, code `unreadable_answer`: a broken centre, never a crash of the caller.

The calls that issue, take money or count (request, payment, completion) carry an
Idempotency-Key; the client makes one per call unless given, and on a transport failure
(connection reset, time-out) retries the same call with the same key up to `retries` times,
so a retry can never issue or count twice.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from rig.core.https import answer_as, answer_object, https_client
from rig.core.pki.tls import CertPair
from rig.core.protocols.centre import (
    IDEMPOTENCY_HEADER,
    CardApAuth,
    CardApChallengeRequest,
    CertificateOptions,
    CertificateRequest,
    CertTypeName,
    Completion,
    JpkiAuth,
    OpenSession,
    Payment,
    PinEntry,
)


class CentreApiError(Exception):
    """The centre answered with a problem document (or something that is not JSON)."""

    def __init__(self, status: int, problem: dict[str, Any], retry_after: str | None = None):
        self.status = status
        self.problem = problem
        self.code: str = str(problem.get("code", f"http_{status}"))
        self.retry_after = retry_after
        super().__init__(f"{status} {self.code}: {problem.get('detail') or problem.get('title')}")

    @property
    def source(self) -> str:
        """ "centre", "municipality", or "" for the HTTPS layer's own answers."""
        return str(self.problem.get("source", ""))


class CentreAnswerError(CentreApiError):
    """A success answer the client cannot read: not a JSON object, or not what the API gives.
    The detail names the call and each member at fault, never a value (rig.core.https)."""

    def __init__(self, status: int, detail: str):
        super().__init__(status, {"code": "unreadable_answer", "detail": detail})


M = TypeVar("M", bound=BaseModel)


def _from_hex(value: Any) -> Any:
    """Hex text as bytes; anything else is left for pydantic to refuse."""
    return bytes.fromhex(value) if isinstance(value, str) else value


#: bytes the centre sends as hex
_HexBytes = Annotated[bytes, BeforeValidator(_from_hex)]
#: the same, where absent or empty means None
_Hex = Annotated[bytes | None, BeforeValidator(lambda v: _from_hex(v) if v else None)]


class _Answer(BaseModel):
    """A centre answer as the client reads it; members it does not name are ignored."""

    model_config = ConfigDict(frozen=True)


class RequestReceipt(_Answer):
    request_id: str
    state: str
    type: str
    variant: str | None = None
    title: str
    paper: str
    pages: int
    sides: int
    duplex: bool
    copies: int
    fee_per_copy: int
    total_fee: int
    issued_at: datetime
    sha256: str
    downloaded: bool
    paid_yen: int | None = None
    copies_printed: int
    document_url: str
    #: the centre answered from its idempotency record (`Idempotent-Replayed`), not anew
    replayed: bool = False


class SessionInfo(_Answer):
    session_id: str
    state: str
    nonce: _Hex = None
    opened_at: datetime
    closes_at: datetime
    expires_at: datetime
    method: str | None = None
    municipality_code: str | None = None
    requests: tuple[RequestReceipt, ...] = ()


class AuthResult(_Answer):
    state: str
    method: str | None = None
    municipality_code: str | None = None
    pin_required: bool


class Challenge(_Answer):
    challenge: _HexBytes
    expires_at: str | None = None


class _Nonce(_Answer):
    nonce: _HexBytes


class _Settlement(_Answer):
    rows: list[dict[str, Any]]


class StatisticsReport(_Answer):
    """`GET /v1/municipalities/{code}/statistics` or `/v1/operators/{id}/statistics`.

    `rows`: per day and certificate type (a municipality) or per day and store (an
    operator), each with `issuances`, `copies` and `fees`; `totals` sums them.
    """

    subject: str
    first: date | None = Field(None, alias="from")
    last: date | None = Field(None, alias="to")
    rows: list[dict[str, Any]]
    totals: dict[str, int]


class _MunicipalReport(StatisticsReport):
    subject: str = Field(alias="municipality")


class _OperatorReport(StatisticsReport):
    subject: str = Field(alias="operator")


def _days(first: date | None, last: date | None) -> dict[str, str]:
    return {k: v.isoformat() for k, v in (("from", first), ("to", last)) if v is not None}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class CentreClient:
    """A kiosk's connection to the centre; `base_url` is IssuanceCentre.start()["center_url"]."""

    def __init__(
        self,
        base_url: str,
        *,
        client: CertPair | None,
        server_ca: Path,
        timeout: float = 30.0,
        retries: int = 2,
    ):
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.http = https_client(self.base_url, client=client, server_ca=server_ca, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> CentreClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {IDEMPOTENCY_HEADER: key} if key else {}
        attempts = 1 + (self.retries if key else 0)
        for attempt in range(attempts):
            try:
                answer = self.http.request(method, path, json=body, headers=headers, params=params)
                break
            except httpx.TransportError:
                if attempt == attempts - 1:
                    raise
        if answer.is_error:
            try:
                problem = answer.json()
            except ValueError:
                problem = {}
            if not isinstance(problem, dict):
                problem = {}
            raise CentreApiError(answer.status_code, problem, answer.headers.get("Retry-After"))
        return answer

    def _json(self, model: type[M], method: str, path: str, body: Any = None, **params: str) -> M:
        return self._read(self._send(method, path, body, params=params or None), model)

    @staticmethod
    def _read(answer: httpx.Response, model: type[M]) -> M:
        return answer_as(answer, model, partial(CentreAnswerError, answer.status_code))

    def _object(self, path: str) -> dict[str, Any]:
        answer = self._send("GET", path)
        return answer_object(answer, partial(CentreAnswerError, answer.status_code))

    def _receipt(self, path: str, body: dict[str, Any], key: str | None) -> RequestReceipt:
        """POST a step of a request under an idempotency key (a new one unless given)."""
        answer = self._send("POST", path, body, key=key or secrets.token_urlsafe(18))
        replayed = "Idempotent-Replayed" in answer.headers
        return self._read(answer, RequestReceipt).model_copy(update={"replayed": replayed})

    # -- calls -----------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._object("/health")

    def open_session(self, kiosk_id: str, store_id: str, operator_id: str) -> SessionInfo:
        body = OpenSession(kiosk_id=kiosk_id, store_id=store_id, operator_id=operator_id)
        return self._json(SessionInfo, "POST", "/sessions", body.model_dump())

    def session(self, session_id: str) -> SessionInfo:
        return self._json(SessionInfo, "GET", f"/sessions/{session_id}")

    def new_nonce(self, session_id: str) -> bytes:
        return self._json(_Nonce, "POST", f"/sessions/{session_id}/nonce").nonce

    def authenticate_jpki(
        self,
        session_id: str,
        certificate: x509.Certificate | bytes,
        signature: bytes,
        nonce: bytes,
    ) -> AuthResult:
        der = (
            certificate.public_bytes(Encoding.DER)
            if isinstance(certificate, x509.Certificate)
            else certificate
        )
        body = JpkiAuth(certificate=_b64(der), signature=_b64(signature), nonce=nonce.hex())
        return self._json(
            AuthResult,
            "POST",
            f"/sessions/{session_id}/auth/jpki",
            body.model_dump(),
        )

    def card_ap_challenge(self, session_id: str, municipality_code: str, user_id: str) -> Challenge:
        body = CardApChallengeRequest(municipality_code=municipality_code, user_id=user_id)
        return self._json(
            Challenge,
            "POST",
            f"/sessions/{session_id}/auth/card-ap/challenge",
            body.model_dump(),
        )

    def authenticate_card_ap(
        self, session_id: str, challenge: bytes, response: bytes
    ) -> AuthResult:
        body = CardApAuth(challenge=challenge.hex(), response=response.hex())
        return self._json(
            AuthResult,
            "POST",
            f"/sessions/{session_id}/auth/card-ap",
            body.model_dump(),
        )

    def verify_pin(self, session_id: str, pin: str) -> AuthResult:
        # the PIN goes straight into the body: never into a log or an exception message
        body = PinEntry(pin=pin)
        return self._json(AuthResult, "POST", f"/sessions/{session_id}/pin", body.model_dump())

    def menu(self, session_id: str) -> dict[str, Any]:
        return self._object(f"/sessions/{session_id}/menu")

    def request_certificate(
        self,
        session_id: str,
        cert_type: CertTypeName,
        *,
        variant: str | None = None,
        copies: int = 1,
        options: CertificateOptions | dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> RequestReceipt:
        opts = (
            options
            if isinstance(options, CertificateOptions)
            else CertificateOptions.model_validate(options or {})
        )
        body = CertificateRequest(type=cert_type, variant=variant, copies=copies, options=opts)
        return self._receipt(
            f"/sessions/{session_id}/requests", body.model_dump(mode="json"), idempotency_key
        )

    def request_status(self, session_id: str, request_id: str) -> RequestReceipt:
        return self._json(RequestReceipt, "GET", f"/sessions/{session_id}/requests/{request_id}")

    def download(self, session_id: str, request_id: str) -> bytes:
        """The printable PDF; its SHA-256 is checked against the centre's header."""
        answer = self._send("GET", f"/sessions/{session_id}/requests/{request_id}/document")
        digest = answer.headers.get("X-Document-SHA256")
        if digest is not None and hashlib.sha256(answer.content).hexdigest() != digest:
            raise CentreApiError(answer.status_code, {"code": "document_corrupted"})
        return answer.content

    def confirm_payment(
        self,
        session_id: str,
        request_id: str,
        amount_yen: int,
        method: Literal["cash", "e_money"] = "cash",
        *,
        idempotency_key: str | None = None,
    ) -> RequestReceipt:
        body = Payment(amount_yen=amount_yen, method=method)
        return self._receipt(
            f"/sessions/{session_id}/requests/{request_id}/payment",
            body.model_dump(),
            idempotency_key,
        )

    def complete(
        self,
        session_id: str,
        request_id: str,
        outcome: Literal["printed", "failed"],
        copies_printed: int,
        *,
        idempotency_key: str | None = None,
    ) -> RequestReceipt:
        body = Completion(outcome=outcome, copies_printed=copies_printed)
        return self._receipt(
            f"/sessions/{session_id}/requests/{request_id}/completion",
            body.model_dump(),
            idempotency_key,
        )

    def cancel_request(self, session_id: str, request_id: str) -> None:
        self._send("DELETE", f"/sessions/{session_id}/requests/{request_id}")

    def end_session(self, session_id: str) -> None:
        self._send("DELETE", f"/sessions/{session_id}")

    # -- statistics readers (docs/centre.md, "Statistics and who may read them") ------------
    def settlement(
        self, month: str | None = None, municipality: str | None = None
    ) -> list[dict[str, Any]]:
        """Monthly settlement rows (LGPKI-style client certificates only).

        A municipality's certificate (CN = its code) reads its own rows whatever
        `municipality` is left as; naming another code is 403
        `statistics_other_municipality`. The centre's own certificate reads any or all.
        """
        params = {k: v for k, v in (("month", month), ("municipality", municipality)) if v}
        return self._json(_Settlement, "GET", "/settlement", **params).rows

    def municipal_statistics(
        self, municipality: str, first: date | None = None, last: date | None = None
    ) -> StatisticsReport:
        """Copies per day and certificate type of one municipality (LGPKI certificate)."""
        path = f"/municipalities/{quote(municipality, safe='')}/statistics"
        return self._json(_MunicipalReport, "GET", path, **_days(first, last))

    def operator_statistics(
        self, operator: str, first: date | None = None, last: date | None = None
    ) -> StatisticsReport:
        """Copies per store and day of one operator (kiosk-CA certificate with OU=operator)."""
        path = f"/operators/{quote(operator, safe='')}/statistics"
        return self._json(_OperatorReport, "GET", path, **_days(first, last))

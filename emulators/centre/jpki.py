"""JPKI authentication at the centre: certificate, signature over the nonce, OCSP status.

The kiosk sends the card's user authentication certificate (利用者証明用電子証明書) and the
card's signature over the centre's nonce (RSASSA-PKCS1-v1_5 with SHA-256: the kiosk sends
the card the DigestInfo of SHA-256(nonce)). The centre checks, cheapest first:

1. the certificate parses and was issued by the JPKI user-authentication CA it trusts;
2. it is inside its validity period on the rig clock;
3. the signature verifies with its public key over the raw nonce bytes;
4. the JPKI centre's OCSP responder (RFC 6960, with a fresh OCSP nonce) says "good",
   judged by `rig.core.protocols.ocsp.check_response`.
"""

from __future__ import annotations

from datetime import datetime

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp

from emulators.centre.errors import CentreError
from emulators.centre.notices import NoticeBoard, NoticeKind
from rig.core.evidence import EvidenceStore
from rig.core.pki.certificates import fully_parsed
from rig.core.protocols.centre import CentreCode
from rig.core.protocols.ocsp import (
    REQUEST_CONTENT_TYPE,
    OcspCheckError,
    OcspProblem,
    build_request,
    check_response,
    new_nonce,
)
from rig.core.tls_default import default_client_context

#: An OCSP answer larger than this is not an answer about one certificate.
MAX_OCSP_RESPONSE = 64 * 1024


class JpkiVerifier:
    """Checks a JPKI authentication; `verify` returns the certificate or raises CentreError."""

    def __init__(
        self,
        issuer: x509.Certificate,
        ocsp_url: str,
        monitor: NoticeBoard,
        *,
        timeout: float = 2.0,
        evidence: EvidenceStore | None = None,
    ):
        self.issuer = issuer
        self.ocsp_url = ocsp_url
        self.evidence = evidence
        self.monitor = monitor
        self._http = httpx.Client(
            timeout=timeout,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            verify=default_client_context(),
        )

    def close(self) -> None:
        self._http.close()

    def verify(
        self, cert_der: bytes, signature: bytes, nonce: bytes, now: datetime
    ) -> x509.Certificate:
        cert = self._parse(cert_der)
        self._check_issuer(cert)
        if now < cert.not_valid_before_utc:
            raise CentreError(CentreCode.CERTIFICATE_NOT_YET_VALID)
        if now > cert.not_valid_after_utc:
            raise CentreError(CentreCode.CERTIFICATE_EXPIRED)
        self._check_signature(cert, signature, nonce)
        self._check_status(cert, now)
        return cert

    @staticmethod
    def _parse(der: bytes) -> x509.Certificate:
        try:
            cert = fully_parsed(x509.load_der_x509_certificate(der))
        except ValueError as exc:
            raise CentreError(CentreCode.CERTIFICATE_INVALID, "not a DER certificate") from exc
        except Exception as exc:  # cryptography raises several types for broken keys
            raise CentreError(CentreCode.CERTIFICATE_INVALID, type(exc).__name__) from exc
        return cert

    def _check_issuer(self, cert: x509.Certificate) -> None:
        if cert.issuer != self.issuer.subject:
            raise CentreError(CentreCode.CERTIFICATE_UNTRUSTED, "issuer name")
        try:
            cert.verify_directly_issued_by(self.issuer)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise CentreError(CentreCode.CERTIFICATE_UNTRUSTED, "issuer signature") from exc

    @staticmethod
    def _check_signature(cert: x509.Certificate, signature: bytes, nonce: bytes) -> None:
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise CentreError(CentreCode.CERTIFICATE_UNTRUSTED, "JPKI keys are RSA")
        try:
            key.verify(signature, nonce, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError) as exc:
            raise CentreError(CentreCode.SIGNATURE_INVALID) from exc

    def _post_ocsp(self, request: bytes) -> httpx.Response:
        """POST the request; once more if a pooled connection died under it (the same request,
        same nonce: OCSP is idempotent). A refused connection or a time-out is not retried:
        the responder is down or slow, and the kiosk must hear so at once."""
        headers = {"Content-Type": REQUEST_CONTENT_TYPE}
        try:
            return self._http.post(self.ocsp_url, content=request, headers=headers)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
            return self._http.post(self.ocsp_url, content=request, headers=headers)

    def _check_status(self, cert: x509.Certificate, now: datetime) -> None:
        nonce = new_nonce()
        request = build_request(cert, self.issuer, nonce)
        try:
            answer = self._post_ocsp(request)
        except httpx.HTTPError as exc:
            why = type(exc).__name__
            self._record("unavailable", why=why)
            raise self._unavailable(why, f"OCSP responder: {why}") from exc
        if answer.status_code != 200 or len(answer.content) > MAX_OCSP_RESPONSE:
            self._record("unavailable", http_status=answer.status_code)
            raise self._unavailable(f"HTTP {answer.status_code}", f"OCSP HTTP {answer.status_code}")
        try:
            verdict = check_response(answer.content, cert, self.issuer, nonce, now)
        except OcspCheckError as exc:
            problem = exc.problem.value
            self._record("rejected", problem=problem)
            if exc.problem in (OcspProblem.UNSUCCESSFUL, OcspProblem.UNAVAILABLE):
                raise self._unavailable(problem, problem, ocsp_problem=problem) from exc
            raise CentreError(CentreCode.OCSP_CHECK_FAILED, problem, ocsp_problem=problem) from exc
        self._record("checked", status=verdict.status.name.lower())
        self.monitor.up(NoticeKind.JPKI_UNAVAILABLE, None)
        if verdict.status == ocsp.OCSPCertStatus.REVOKED:
            raise CentreError(CentreCode.CERTIFICATE_REVOKED)
        if verdict.status != ocsp.OCSPCertStatus.GOOD:
            raise CentreError(CentreCode.CERTIFICATE_STATUS_UNKNOWN)

    def _unavailable(self, why: str, detail: str, **extensions: str) -> CentreError:
        """The responder cannot answer now: a fault the monitor notes, and a 503 to retry."""
        self.monitor.down(NoticeKind.JPKI_UNAVAILABLE, None, why)
        return CentreError(CentreCode.JPKI_UNAVAILABLE, detail, retry_after=300, **extensions)

    def _record(self, event: str, **data: object) -> None:
        if self.evidence is not None:
            self.evidence.record("centre-ocsp", event, **data)

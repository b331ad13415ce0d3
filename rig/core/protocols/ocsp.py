"""OCSP (RFC 6960) requests and response checks, shared by the JPKI responder and the centre.

The responder (emulators/jpki) parses requests with these helpers; the issuance centre builds
requests and judges responses with them. Every way a response can be unacceptable has its own
`OcspProblem` code, so a refusal names its cause.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import quote, unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

REQUEST_CONTENT_TYPE = "application/ocsp-request"
RESPONSE_CONTENT_TYPE = "application/ocsp-response"
NONCE_LENGTH = 16
#: How far a response's thisUpdate may lie in the future (clock skew allowance).
MAX_SKEW = timedelta(minutes=5)


class OcspProblem(StrEnum):
    MALFORMED = "ocsp-malformed"  # not a DER OCSPResponse
    UNSUCCESSFUL = "ocsp-unsuccessful"  # responseStatus other than successful (tryLater, ...)
    WRONG_SIGNER = "ocsp-wrong-signer"  # signer is neither the issuer nor a delegated responder
    BAD_SIGNATURE = "ocsp-bad-signature"
    NONCE_MISMATCH = "ocsp-nonce-mismatch"
    CERT_MISMATCH = "ocsp-cert-mismatch"  # answers about another certificate
    STALE = "ocsp-stale"  # nextUpdate passed (or thisUpdate too old)
    NOT_YET_VALID = "ocsp-not-yet-valid"  # thisUpdate in the future
    UNAVAILABLE = "ocsp-unavailable"  # no answer: refused, time-out (set by the client)


class OcspCheckError(Exception):
    def __init__(self, problem: OcspProblem, detail: str):
        super().__init__(f"{problem.value}: {detail}")
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True)
class OcspVerdict:
    status: ocsp.OCSPCertStatus
    revocation_reason: x509.ReasonFlags | None


def new_nonce() -> bytes:
    return os.urandom(NONCE_LENGTH)


def build_request(cert: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(Encoding.DER)


def get_path(request_der: bytes) -> str:
    """The GET form (RFC 6960 A.1): base64 of the DER request, URL-encoded, after the URL."""
    return quote(base64.b64encode(request_der).decode("ascii"), safe="")


def request_from_get_path(path_tail: str) -> bytes:
    """Inverse of `get_path`; raises ValueError on anything that is not base64."""
    return base64.b64decode(unquote(path_tail), validate=True)


def request_nonce(request: ocsp.OCSPRequest | ocsp.OCSPResponse) -> bytes | None:
    """The nonce a request carries, or the one a response echoes; None without one."""
    try:
        ext = request.extensions.get_extension_for_class(x509.OCSPNonce)
    except x509.ExtensionNotFound:
        return None
    return ext.value.nonce


def _rsa_signed(
    signer: x509.Certificate,
    signature: bytes,
    data: bytes,
    algorithm: hashes.HashAlgorithm | None,
) -> bool:
    """Whether `signature` over `data` is `signer`'s RSA PKCS#1 v1.5 signature."""
    key = signer.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or algorithm is None:
        return False
    try:
        key.verify(signature, data, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        return False
    return True


def _signed_by(response: ocsp.OCSPResponse, signer: x509.Certificate) -> bool:
    return _rsa_signed(
        signer, response.signature, response.tbs_response_bytes, response.signature_hash_algorithm
    )


def _delegated_responder(
    response: ocsp.OCSPResponse, issuer: x509.Certificate
) -> x509.Certificate | None:
    """The embedded responder certificate, if the issuer issued it for OCSP signing."""
    for cert in response.certificates:
        if cert.issuer != issuer.subject:
            continue
        try:
            eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING in eku and _rsa_signed(
            issuer, cert.signature, cert.tbs_certificate_bytes, cert.signature_hash_algorithm
        ):
            return cert
    return None


def check_response(
    der: bytes,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    nonce: bytes | None,
    now: datetime,
    max_age: timedelta = timedelta(days=2),
) -> OcspVerdict:
    """Judge a response for `cert` as the centre must before trusting it (RFC 6960 §3.2)."""
    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError as exc:
        raise OcspCheckError(OcspProblem.MALFORMED, str(exc)) from exc
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise OcspCheckError(OcspProblem.UNSUCCESSFUL, response.response_status.name)
    signer = _delegated_responder(response, issuer)
    if signer is not None:
        if not _signed_by(response, signer):
            raise OcspCheckError(OcspProblem.BAD_SIGNATURE, "delegated responder signature")
        if not signer.not_valid_before_utc <= now <= signer.not_valid_after_utc:
            raise OcspCheckError(OcspProblem.WRONG_SIGNER, "responder certificate not valid now")
    elif not _signed_by(response, issuer):
        raise OcspCheckError(
            OcspProblem.WRONG_SIGNER, "signed by neither the issuer nor a delegated responder"
        )
    if response.serial_number != cert.serial_number:
        raise OcspCheckError(OcspProblem.CERT_MISMATCH, f"serial {response.serial_number:#x}")
    expected = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, response.hash_algorithm)
    expected_req = expected.build()
    if (
        response.issuer_key_hash != expected_req.issuer_key_hash
        or response.issuer_name_hash != expected_req.issuer_name_hash
    ):
        raise OcspCheckError(OcspProblem.CERT_MISMATCH, "issuer hashes differ")
    if nonce is not None and request_nonce(response) != nonce:
        raise OcspCheckError(OcspProblem.NONCE_MISMATCH, "nonce not echoed")
    # cryptography's *_utc times are timezone-aware (UTC)
    this_update = response.this_update_utc
    next_update = response.next_update_utc
    if this_update > now + MAX_SKEW:
        raise OcspCheckError(OcspProblem.NOT_YET_VALID, f"thisUpdate {this_update.isoformat()}")
    if (next_update is not None and next_update < now) or this_update < now - max_age:
        raise OcspCheckError(OcspProblem.STALE, f"thisUpdate {this_update.isoformat()}")
    return OcspVerdict(response.certificate_status, response.revocation_reason)

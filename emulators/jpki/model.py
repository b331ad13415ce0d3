"""Answers to OCSP requests, from the PKI's revocation store, on the rig clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from emulators.jpki.faults import OcspFault, OcspFaultPlan
from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.pki.revocation import CertStatus, Revocation
from rig.core.protocols.ocsp import request_nonce

#: How long an answer is good for (nextUpdate − thisUpdate).
VALIDITY = timedelta(hours=24)

StatusSource = Callable[[int, datetime], CertStatus]
RevocationSource = Callable[[int], Revocation | None]


@dataclass(frozen=True)
class ResponderIdentity:
    """Who signs: the CA whose certificates are asked about, and its delegated responder."""

    issuer: x509.Certificate
    responder_cert: x509.Certificate
    responder_key: rsa.RSAPrivateKey


class OcspResponder:
    """Builds DER OCSPResponses; never raises on bad input (answers malformedRequest)."""

    def __init__(
        self,
        clock: RigClock,
        identity: ResponderIdentity,
        status_of: StatusSource,
        revocation_of: RevocationSource,
        faults: OcspFaultPlan | None = None,
        evidence: EvidenceStore | None = None,
    ):
        self.clock = clock
        self.identity = identity
        self.status_of = status_of
        self.revocation_of = revocation_of
        self.faults = faults or OcspFaultPlan()
        self.evidence = evidence
        issuer_req = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(identity.responder_cert, identity.issuer, hashes.SHA1())
            .build()
        )
        self._issuer_hashes_sha1 = (issuer_req.issuer_name_hash, issuer_req.issuer_key_hash)
        self._rogue: tuple[x509.Certificate, rsa.RSAPrivateKey] | None = None

    def _rogue_signer(self) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        """For the wrong_signer fault: a responder with the right name that no CA certified."""
        if self._rogue is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = self.identity.responder_cert.subject
            now = self.clock.now()
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1))
                .not_valid_after(now + timedelta(days=365))
                .add_extension(
                    x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING]),
                    critical=False,
                )
                .sign(key, hashes.SHA256())
            )
            self._rogue = (cert, key)
        return self._rogue

    def respond(self, request_der: bytes) -> bytes:
        now = self.clock.now()
        fault = self.faults.active(now)
        if fault is OcspFault.MALFORMED:
            self._trace("malformed-answer", None, "fault")
            return b"\x30\x03not-ocsp"
        if fault is OcspFault.TRY_LATER:
            self._trace("try-later", None, "fault")
            return self._unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER)
        try:
            request = ocsp.load_der_ocsp_request(request_der)
            # cryptography parses fields lazily: touch each now, so that a request with an
            # unknown hash OID or a broken extension is refused here, not half-way through
            _ = (request.hash_algorithm, request.serial_number, request_nonce(request))
            if request.serial_number <= 0:
                raise ValueError("serial numbers are positive (RFC 5280 4.1.2.2)")
        except (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension) as exc:
            self._trace("malformed-request", None, "malformedRequest", why=type(exc).__name__)
            return self._unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        return self._answer(request, now, fault)

    def _answer(self, request: ocsp.OCSPRequest, now: datetime, fault: OcspFault | None) -> bytes:
        serial = request.serial_number
        asked_issuer = (request.issuer_name_hash, request.issuer_key_hash)
        sha1 = isinstance(request.hash_algorithm, hashes.SHA1)
        ours = sha1 and asked_issuer == self._issuer_hashes_sha1
        status = self.status_of(serial, now) if ours else CertStatus.UNKNOWN
        this_update = now - 3 * VALIDITY if fault is OcspFault.STALE else now
        revocation = self.revocation_of(serial) if status is CertStatus.REVOKED else None
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=serial,
            algorithm=request.hash_algorithm,
            cert_status=ocsp.OCSPCertStatus[status.name],
            this_update=this_update.astimezone(UTC),
            next_update=(this_update + VALIDITY).astimezone(UTC),
            revocation_time=revocation.revoked_at.astimezone(UTC) if revocation else None,
            revocation_reason=revocation.reason if revocation else None,
        )
        nonce = request_nonce(request)
        if nonce is not None:
            builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        signer_cert = self.identity.responder_cert
        signer_key: rsa.RSAPrivateKey = self.identity.responder_key
        if fault is OcspFault.WRONG_SIGNER:
            signer_cert, signer_key = self._rogue_signer()
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert)
        builder = builder.certificates([signer_cert])
        response = builder.sign(signer_key, hashes.SHA256())
        self._trace("answer", serial, status.value, fault=fault.value if fault else None)
        return response.public_bytes(Encoding.DER)

    @staticmethod
    def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(Encoding.DER)

    def _trace(self, event: str, serial: int | None, result: str, **extra: object) -> None:
        if self.evidence is not None:
            self.evidence.record(
                "ocsp",
                event,
                serial=f"{serial:x}" if serial is not None else None,
                result=result,
                **extra,
            )

"""Many JPKI authentication certificates, fast, for load and isolation runs.

Deriving a card's keys costs a prime search each (rig.core.pki.keys); a run that needs
hundreds of distinct applicants at once instead shares one RSA key among certificates with
distinct serials, each signed by the test authority's authentication CA and recorded as
issued, so the OCSP responder answers "good" for every one. Test material only.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from rig.core.clock import JST
from rig.core.pki.jpki import JpkiAuthority
from rig.core.pki.keys import key_pem

#: Every minted certificate is valid from here for five years (before any rig clock's start).
NOT_BEFORE = datetime(2025, 1, 1, tzinfo=JST)
VALIDITY = timedelta(days=5 * 365)


class AuthCertMint:
    """Authentication certificates sharing one key; serials count up from `first_serial`,
    common names are `label` and the serial in hex (so a user of the mint can be told apart)."""

    def __init__(self, authority: JpkiAuthority, *, first_serial: int, label: str):
        self.authority = authority
        self.label = label
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._serials = itertools.count(first_serial)

    def mint(self, serial: int | None = None) -> x509.Certificate:
        serial = serial if serial is not None else next(self._serials)
        end = NOT_BEFORE + VALIDITY
        cert = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{self.label}{serial:X}")])
            )
            .issuer_name(self.authority.auth_ca_cert.subject)
            .public_key(self.key.public_key())
            .serial_number(serial)
            .not_valid_before(NOT_BEFORE)
            .not_valid_after(end)
            .sign(self.authority.auth_ca_key, hashes.SHA256())
        )
        self.authority.revocations.record_issued(
            serial, "auth", self.authority.auth_ca_cert.subject.rfc4514_string(), NOT_BEFORE, end
        )
        return cert

    def sign(self, nonce: bytes) -> bytes:
        """The card's signature over the centre's nonce (PKCS #1 v1.5, SHA-256)."""
        return self.key.sign(nonce, padding.PKCS1v15(), hashes.SHA256())

    def key_pem(self) -> str:
        return key_pem(self.key).decode("ascii")

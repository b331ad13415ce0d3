"""Test PKIs for transport security (TLS): kiosk CA, LGPKI-style CA, localhost server CA.

Three certificate authorities, all generated with `cryptography` into a folder:

- the **kiosk CA** issues kiosk client certificates (kiosk → issuance centre), optionally
  naming the store operator in the subject's OU (`kiosk_client(name, operator=...)`);
- the **LGPKI-style CA** (地方公共団体組織認証基盤, as used on LGWAN) issues the client
  certificates the issuance centre presents to municipal issuance servers;
- the **server CA** issues server certificates for the rig's HTTPS servers on localhost.

Negative material for tests: an expired client certificate and a self-signed one.

Everything is deterministic from a seed: keys are ECDSA P-256 derived from
HMAC-SHA256(seed, name), signatures use RFC 6979 deterministic ECDSA, serials and validity
dates are fixed. Files are cached: a second call with the same folder and seed reads them
back (files are written atomically, so concurrent processes may share a folder).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rig.core.netaddr import LOOPBACK_NAMES, ip_or_none
from rig.core.pki.keys import key_pem, write_atomic

CaName = Literal["kiosk", "lgpki", "server"]
LeafKind = Literal["client", "server"]

#: Validity of every CA and leaf (fixed so the bytes do not depend on the day they were made).
VALID_FROM = datetime(2024, 1, 1, tzinfo=UTC)
VALID_UNTIL = datetime(2045, 12, 31, 23, 59, 59, tzinfo=UTC)
#: The expired negative certificate's validity (in the past for any run after 2024).
EXPIRED_FROM = datetime(2020, 1, 1, tzinfo=UTC)
EXPIRED_UNTIL = datetime(2021, 1, 1, tzinfo=UTC)

_CA_SUBJECTS: dict[CaName, str] = {
    "kiosk": "Konbini Rig Kiosk Test CA",
    "lgpki": "Konbini Rig LGPKI-style Test CA",
    "server": "Konbini Rig Localhost Server Test CA",
}
_CURVE = ec.SECP256R1()
_CURVE_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
#: A store operator id as the centre's OpenSession takes it (rig.core.protocols.centre).
_OPERATOR_ID = re.compile(r"[a-z0-9-]{1,32}")


@dataclass(frozen=True)
class CertPair:
    """A certificate and its private key, both PEM files (the key unencrypted: test only)."""

    cert: Path
    key: Path

    def load_cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert.read_bytes())


def _derive_key(seed: str, label: str) -> ec.EllipticCurvePrivateKey:
    digest = hmac.new(seed.encode(), f"tls-key:{label}".encode(), hashlib.sha256).digest()
    value = int.from_bytes(digest, "big") % (_CURVE_ORDER - 1) + 1
    return ec.derive_private_key(value, _CURVE)


def _serial(seed: str, label: str) -> int:
    digest = hmac.new(seed.encode(), f"tls-serial:{label}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:16], "big") >> 2 | 1  # positive, < 2**126, never zero


def _name(common_name: str, org: str = "Konbini Rig Test", unit: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
    ]
    if unit is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _alt_name(host: str) -> x509.GeneralName:
    """An IP literal as iPAddress, anything else as dNSName (RFC 6125: never an IP as DNS)."""
    address = ip_or_none(host)
    return x509.DNSName(host) if address is None else x509.IPAddress(address)


class TlsMaterial:
    """The TLS test PKI of one run, in `folder`, deterministic from `seed`.

    Leaves are made on first use and cached as `<folder>/<ca>-<kind>-<name>.{crt,key}`.
    """

    def __init__(self, folder: Path, seed: str | int = "konbini-rig"):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.seed = str(seed)
        self._lock = threading.Lock()
        stamp = self.folder / "SEED"
        if stamp.exists() and stamp.read_text(encoding="utf-8") != self.seed:
            # another seed's files would silently mismatch: start the folder afresh
            for old in [*self.folder.glob("*.crt"), *self.folder.glob("*.key")]:
                old.unlink()
        write_atomic(stamp, self.seed.encode())

    # -- certificate authorities -------------------------------------------------------
    def ca(self, name: CaName) -> CertPair:
        """The CA certificate (PEM) for `name`; also what a peer loads as its trust anchor."""
        pair = CertPair(self.folder / f"ca-{name}.crt", self.folder / f"ca-{name}.key")
        with self._lock:
            if not (pair.cert.exists() and pair.key.exists()):
                key = _derive_key(self.seed, f"ca:{name}")
                subject = _name(_CA_SUBJECTS[name])
                cert = (
                    x509.CertificateBuilder()
                    .subject_name(subject)
                    .issuer_name(subject)
                    .public_key(key.public_key())
                    .serial_number(_serial(self.seed, f"ca:{name}"))
                    .not_valid_before(VALID_FROM)
                    .not_valid_after(VALID_UNTIL)
                    .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                    .add_extension(
                        # digitalSignature, keyCertSign, cRLSign (positional, as in jpki.py)
                        x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                        critical=True,
                    )
                    .add_extension(
                        x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
                    )
                    .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
                )
                write_atomic(pair.key, key_pem(key))
                write_atomic(pair.cert, cert.public_bytes(serialization.Encoding.PEM))
        return pair

    @property
    def kiosk_ca(self) -> Path:
        return self.ca("kiosk").cert

    @property
    def lgpki_ca(self) -> Path:
        return self.ca("lgpki").cert

    @property
    def server_ca(self) -> Path:
        return self.ca("server").cert

    # -- leaves ------------------------------------------------------------------------
    def server(self, name: str = "localhost", hosts: Sequence[str] = ()) -> CertPair:
        """A server certificate for 127.0.0.1 / ::1 / localhost, issued by the server CA.

        `hosts`: further addresses the server listens on (the topology's listen addresses),
        each named in subjectAltName as an IP address or a DNS name, so a client that
        verifies the server's name accepts it there (and nowhere the certificate omits).
        """
        extra = tuple(sorted({h for h in hosts if h not in LOOPBACK_NAMES}))
        return self._leaf("server", "server", name, hosts=extra)

    def kiosk_client(self, name: str = "kiosk-0001", operator: str | None = None) -> CertPair:
        """A kiosk client certificate issued by the kiosk CA.

        With `operator` (a store operator id, 事業者, e.g. "konbini-a") the subject also
        carries OU=operator: the centre then binds the kiosk's sessions to that operator and
        lets the certificate read that operator's statistics. Without it the certificate is
        the same as before the option existed (no OU).
        """
        if operator is not None and not _OPERATOR_ID.fullmatch(operator):
            raise ValueError("an operator id is 1-32 characters of a-z 0-9 -")
        return self._leaf("kiosk", "client", name, unit=operator)

    def lgpki_client(self, name: str = "issuance-centre") -> CertPair:
        """An LGPKI-style client certificate (the centre's, toward municipal servers)."""
        return self._leaf("lgpki", "client", name)

    def expired_client(self, ca: CaName = "lgpki", name: str = "expired") -> CertPair:
        """A client certificate from a trusted CA whose validity ended in 2021."""
        return self._leaf(ca, "client", name, expired=True)

    def self_signed_client(self, name: str = "self-signed") -> CertPair:
        """A client certificate that signs itself (no trusted CA)."""
        return self._leaf(None, "client", name)

    def _leaf(
        self,
        ca: CaName | None,
        kind: LeafKind,
        name: str,
        *,
        expired: bool = False,
        unit: str | None = None,
        hosts: tuple[str, ...] = (),
    ) -> CertPair:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        # "+" never occurs in `safe`, so an OU-bearing leaf never shares a file with a plain one
        stem = f"{ca or 'self'}-{kind}-{safe}{'-expired' if expired else ''}"
        if unit is not None:
            stem += f"+{unit}"
        if hosts:  # "@" likewise: one file per set of extra names, the plain leaf unchanged
            stem += "@" + hashlib.sha256("\n".join(hosts).encode()).hexdigest()[:12]
        pair = CertPair(self.folder / f"{stem}.crt", self.folder / f"{stem}.key")
        if ca is not None:
            self.ca(ca)  # the trust anchor a peer loads exists beside every leaf
        with self._lock:
            if pair.cert.exists() and pair.key.exists():
                return pair
            key = _derive_key(self.seed, f"leaf:{stem}")
            subject = _name(name, unit=unit)
            # the CA's key and name follow from the seed as its files did (ca() wrote them)
            issuer_key = key if ca is None else _derive_key(self.seed, f"ca:{ca}")
            issuer_name = subject if ca is None else _name(_CA_SUBJECTS[ca])
            usage = (
                ExtendedKeyUsageOID.SERVER_AUTH
                if kind == "server"
                else (ExtendedKeyUsageOID.CLIENT_AUTH)
            )
            builder = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(issuer_name)
                .public_key(key.public_key())
                .serial_number(_serial(self.seed, f"leaf:{stem}"))
                .not_valid_before(EXPIRED_FROM if expired else VALID_FROM)
                .not_valid_after(EXPIRED_UNTIL if expired else VALID_UNTIL)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                    critical=False,
                )
            )
            if kind == "server":
                builder = builder.add_extension(
                    x509.SubjectAlternativeName([_alt_name(h) for h in (*LOOPBACK_NAMES, *hosts)]),
                    critical=False,
                )
            cert = builder.sign(issuer_key, hashes.SHA256(), ecdsa_deterministic=True)
            write_atomic(pair.key, key_pem(key))
            write_atomic(pair.cert, cert.public_bytes(serialization.Encoding.PEM))
        return pair

    def __repr__(self) -> str:
        return f"TlsMaterial({str(self.folder)!r}, seed={self.seed!r})"


def generate_tls_material(folder: Path, seed: str | int = "konbini-rig") -> TlsMaterial:
    """Create (or reuse) the three CAs and the common leaves in `folder`."""
    material = TlsMaterial(folder, seed)
    for ca in ("kiosk", "lgpki", "server"):
        material.ca(ca)
    material.server()
    material.kiosk_client()
    material.lgpki_client()
    material.expired_client()
    material.self_signed_client()
    return material

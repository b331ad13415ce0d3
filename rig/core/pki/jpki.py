"""A test JPKI (公的個人認証サービス) user-certificate authority, deterministic from a seed.

What it makes, into `<folder>/jpki/` (nothing here is ever committed):
- a root CA and two issuing CAs (user authentication, digital signature), RSA-2048;
- per holder: a user authentication certificate (利用者証明用電子証明書: no name in it, as in
  real JPKI, valid to the holder's 5th birthday after issue) and a signature certificate
  (署名用電子証明書: the four attributes in subjectAltName otherNames), each with its key;
- a delegated OCSP responder certificate (id-kp-OCSPSigning, issued by the authentication CA);
- the revocation store the OCSP responder reads (`revocations.sqlite`).

Same seed, same certificates, byte for byte: keys are derived from the seed (rig.core.pki.keys),
dates are fixed or given, RSA PKCS#1 v1.5 signatures are deterministic.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rig.core.clock import JST
from rig.core.pki.keys import KeyCache, write_atomic
from rig.core.pki.revocation import CertStatus, Revocation, RevocationStore

#: JPKI personal-data otherName OIDs in the signature certificate's subjectAltName.
OID_JPKI_NAME = x509.ObjectIdentifier("1.2.392.200149.8.5.5.1")
OID_JPKI_SEX = x509.ObjectIdentifier("1.2.392.200149.8.5.5.3")
OID_JPKI_BIRTH_DATE = x509.ObjectIdentifier("1.2.392.200149.8.5.5.4")
OID_JPKI_ADDRESS = x509.ObjectIdentifier("1.2.392.200149.8.5.5.5")

DEFAULT_OCSP_URL = "http://jpki-ocsp.rig.invalid/ocsp"
#: CA certificates span every date a scenario plausibly sets the rig clock to.
CA_NOT_BEFORE = datetime(2014, 1, 1, tzinfo=UTC)
CA_NOT_AFTER = datetime(2045, 1, 1, tzinfo=UTC)
_SERIAL_BITS = 62  # fits SQLite INTEGER and stays positive in every DER encoder


class Sex(StrEnum):
    """性別 as JPKI encodes it."""

    MALE = "1"
    FEMALE = "2"
    UNSPECIFIED = "3"


class Device(StrEnum):
    """Where a credential lives: a card, or a smartphone (スマホ用電子証明書)."""

    CARD = "card"
    ANDROID = "android"
    IPHONE = "iphone"


@dataclass(frozen=True)
class Holder:
    """The person a credential is issued to. `holder_id` is stable and never printed."""

    holder_id: str
    name: str
    address: str
    birth_date: date
    sex: Sex = Sex.UNSPECIFIED
    #: whose key pair this holder's certificates carry; empty = a key pair of its own. Test
    #: worlds issue many cards of one profile to different residents: sharing the profile's
    #: (cached) keys spares a pure-Python prime search per card, while every card still gets
    #: its own certificates and serials. Real JPKI keys are per card.
    key_id: str = ""
    #: the authentication certificate's serial, when a party outside the rig fixed it (an
    #: external issuance server registers serials before the rig issues the cards); 0 = derived
    auth_serial: int = 0


@dataclass(frozen=True)
class UserCredentials:
    """One issuance: both certificates, their keys and their issuing CAs."""

    holder: Holder
    issued_at: datetime
    device: Device
    auth_cert: x509.Certificate
    auth_key: rsa.RSAPrivateKey
    sign_cert: x509.Certificate
    sign_key: rsa.RSAPrivateKey
    auth_ca_cert: x509.Certificate
    sign_ca_cert: x509.Certificate

    @property
    def auth_serial(self) -> int:
        return self.auth_cert.serial_number

    @property
    def sign_serial(self) -> int:
        return self.sign_cert.serial_number


class JpkiError(ValueError):
    """A request the authority refuses (naive time, issue before birth, bad holder)."""


def fifth_birthday_after(birth: date, issued: date) -> date:
    """The holder's 5th birthday after `issued` (a 29 February birthday falls on 28 Feb)."""

    def birthday(year: int) -> date:
        return date(year, birth.month, min(birth.day, calendar.monthrange(year, birth.month)[1]))

    first = issued.year if birthday(issued.year) > issued else issued.year + 1
    return birthday(first + 4)


def era_birth_date(birth: date) -> str:
    """JPKI's birth-date form: era digit (1 明治 … 5 令和) then YYYYMMDD."""
    eras = [
        (date(2019, 5, 1), "5"),
        (date(1989, 1, 8), "4"),
        (date(1926, 12, 25), "3"),
        (date(1912, 7, 30), "2"),
    ]
    era = next((code for start, code in eras if birth >= start), "1")
    return era + birth.strftime("%Y%m%d")


def _der_string(tag: int, text: str) -> bytes:
    body = text.encode("utf-8")
    if len(body) < 0x80:
        return bytes((tag, len(body))) + body
    length = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + body


def _utf8(text: str) -> bytes:
    return _der_string(0x0C, text)


def _printable(text: str) -> bytes:
    return _der_string(0x13, text)


def _name(*parts: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in parts])


class JpkiAuthority:
    """The test JPKI: CAs, OCSP responder, user issuance and the revocation store."""

    def __init__(
        self,
        folder: Path,
        seed: str,
        ocsp_url: str = DEFAULT_OCSP_URL,
        state_dir: Path | None = None,
    ):
        self.folder = Path(folder) / "jpki"
        self.seed = seed
        self.ocsp_url = ocsp_url
        self._keys = KeyCache(self.folder / "keys", seed)
        # Keys and CA files are derived, so a folder shared as a cache is safe; the revocation
        # store is state, so callers sharing the folder give each process its own `state_dir`.
        self.revocations = RevocationStore(
            (Path(state_dir) if state_dir is not None else self.folder) / "revocations.sqlite"
        )

        self.root_key, self.root_cert = self._ca(
            "root-ca", "JPKI TEST root CA", "Konbini Rig test root"
        )
        root = (self.root_cert, self.root_key)
        self.auth_ca_key, self.auth_ca_cert = self._ca(
            "auth-ca", "JPKI TEST user authentication CA", "JPKI for user authentication", root
        )
        self.sign_ca_key, self.sign_ca_cert = self._ca(
            "sign-ca", "JPKI TEST digital signature CA", "JPKI for digital signature", root
        )
        self.ocsp_key = self._keys.get("ocsp-responder")
        self.ocsp_cert = self._ocsp_cert()
        self._write_public_files()

    @classmethod
    def load_or_create(
        cls,
        folder: Path,
        seed: str,
        ocsp_url: str = DEFAULT_OCSP_URL,
        state_dir: Path | None = None,
    ) -> JpkiAuthority:
        """Open the authority for `seed` in `folder`, deriving (or reusing cached) keys.

        `state_dir` holds the revocation store when `folder` is a key cache that other
        processes share (test workers, two rig runs): state is never shared by accident."""
        return cls(folder, seed, ocsp_url, state_dir)

    # -- certificates ----------------------------------------------------------------------
    def _serial(self, *parts: str) -> int:
        digest = hashlib.sha256("\x00".join((self.seed, *parts)).encode()).digest()
        return (int.from_bytes(digest[:8], "big") >> (64 - _SERIAL_BITS)) | (
            1 << (_SERIAL_BITS - 1)
        )

    def _ca(
        self,
        label: str,
        common_name: str,
        unit: str,
        issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None = None,
    ) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        """The key `label` and its CA certificate: the root (self-signed) without `issuer`."""
        key = self._keys.get(label)
        issuer_cert, signer = issuer if issuer is not None else (None, key)
        subject = _name(
            (NameOID.COUNTRY_NAME, "JP"),
            (NameOID.ORGANIZATION_NAME, "JPKI"),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "Konbini Rig TEST (not J-LIS)"),
            (NameOID.COMMON_NAME, common_name),
        )
        public = key.public_key()
        # the root may certify issuing CAs, which certify only end entities
        path_len = 1 if issuer_cert is None else 0
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if issuer_cert is None else issuer_cert.subject)
            .public_key(public)
            .serial_number(self._serial("ca", common_name))
            .not_valid_before(CA_NOT_BEFORE)
            .not_valid_after(CA_NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        )
        if issuer_cert is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    issuer_cert.public_key()  # type: ignore[arg-type]
                ),
                critical=False,
            )
        return key, builder.sign(signer, hashes.SHA256())

    def _ocsp_cert(self) -> x509.Certificate:
        public = self.ocsp_key.public_key()
        return (
            x509.CertificateBuilder()
            .subject_name(
                _name(
                    (NameOID.COUNTRY_NAME, "JP"),
                    (NameOID.ORGANIZATION_NAME, "JPKI"),
                    (NameOID.ORGANIZATIONAL_UNIT_NAME, "Konbini Rig TEST (not J-LIS)"),
                    (NameOID.COMMON_NAME, "JPKI TEST OCSP responder"),
                )
            )
            .issuer_name(self.auth_ca_cert.subject)
            .public_key(public)
            .serial_number(self._serial("ocsp-responder"))
            .not_valid_before(CA_NOT_BEFORE)
            .not_valid_after(CA_NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), False)
            .add_extension(x509.OCSPNoCheck(), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.auth_ca_key.public_key()),
                critical=False,
            )
            .sign(self.auth_ca_key, hashes.SHA256())
        )

    def _write_public_files(self) -> None:
        files = {
            "root-ca.pem": self.root_cert.public_bytes(serialization.Encoding.PEM),
            "auth-ca.pem": self.auth_ca_cert.public_bytes(serialization.Encoding.PEM),
            "sign-ca.pem": self.sign_ca_cert.public_bytes(serialization.Encoding.PEM),
            "ocsp-responder.pem": self.ocsp_cert.public_bytes(serialization.Encoding.PEM),
            "ocsp-responder.key.pem": self._keys.path_for("ocsp-responder").read_bytes(),
        }
        for name, content in files.items():
            path = self.folder / name
            if not (path.exists() and path.read_bytes() == content):
                write_atomic(path, content, 0o600 if name.endswith(".key.pem") else None)

    # -- users -----------------------------------------------------------------------------
    def issue_user(
        self, holder: Holder, issued_at: datetime, device: Device = Device.CARD
    ) -> UserCredentials:
        """Issue (or re-derive: same inputs, same result) both certificates for `holder`."""
        if issued_at.tzinfo is None:
            raise JpkiError(f"naive issued_at {issued_at!r}: give a time zone")
        issued_jst = issued_at.astimezone(JST)
        if issued_jst.date() < holder.birth_date:
            raise JpkiError("a certificate cannot be issued before the holder's birth")
        not_after = holder_expiry(holder, issued_jst)
        not_before = issued_jst.replace(microsecond=0)
        tag = f"{holder.holder_id}\x00{issued_jst.isoformat()}\x00{device.value}"
        key_tag = (
            f"{holder.key_id or holder.holder_id}\x00{issued_jst.isoformat()}\x00{device.value}"
        )

        auth_key, auth_cert = self._user_cert("auth", holder, tag, key_tag, not_before, not_after)
        sign_key, sign_cert = self._user_cert("sign", holder, tag, key_tag, not_before, not_after)
        return UserCredentials(
            holder=holder,
            issued_at=issued_jst,
            device=device,
            auth_cert=auth_cert,
            auth_key=auth_key,
            sign_cert=sign_cert,
            sign_key=sign_key,
            auth_ca_cert=self.auth_ca_cert,
            sign_ca_cert=self.sign_ca_cert,
        )

    def _user_cert(
        self,
        kind: str,
        holder: Holder,
        tag: str,
        key_tag: str,
        not_before: datetime,
        not_after: datetime,
    ) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        """The holder's "auth" or "sign" key and certificate, recorded as issued."""
        key = self._keys.get(f"user\x00{key_tag}\x00{kind}")
        signature = kind == "sign"
        serial = (0 if signature else holder.auth_serial) or self._serial(kind, tag)
        # real JPKI subjects carry an opaque identifier, never the holder's name
        opaque = hashlib.sha256(f"{self.seed}\x00subject\x00{tag}".encode()).hexdigest()[:24]
        ca_cert, ca_key = (
            (self.sign_ca_cert, self.sign_ca_key)
            if signature
            else (self.auth_ca_cert, self.auth_ca_key)
        )
        public = key.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(
                _name((NameOID.COUNTRY_NAME, "JP"), (NameOID.COMMON_NAME, opaque.upper()))
            )
            .issuer_name(ca_cert.subject)
            .public_key(public)
            .serial_number(serial)
            .not_valid_before(not_before.astimezone(UTC))
            .not_valid_after(not_after.astimezone(UTC))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, signature, False, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            x509.oid.AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier(self.ocsp_url),
                        )
                    ]
                ),
                critical=False,
            )
        )
        if signature:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.OtherName(OID_JPKI_NAME, _utf8(holder.name)),
                        x509.OtherName(OID_JPKI_SEX, _printable(holder.sex.value)),
                        x509.OtherName(
                            OID_JPKI_BIRTH_DATE, _printable(era_birth_date(holder.birth_date))
                        ),
                        x509.OtherName(OID_JPKI_ADDRESS, _utf8(holder.address)),
                    ]
                ),
                critical=False,
            )
        cert = builder.sign(ca_key, hashes.SHA256())
        self.revocations.record_issued(
            serial, kind, ca_cert.subject.rfc4514_string(), not_before, not_after
        )
        return key, cert

    # -- revocation ------------------------------------------------------------------------
    def revoke(
        self,
        serial: int,
        when: datetime,
        reason: x509.ReasonFlags = x509.ReasonFlags.unspecified,
    ) -> Revocation:
        return self.revocations.revoke(serial, when, reason)

    def status(self, serial: int, at: datetime | None = None) -> CertStatus:
        return self.revocations.status(serial, at)


def holder_expiry(holder: Holder, issued_at: datetime) -> datetime:
    """When a credential issued at `issued_at` expires (end of the 5th birthday, JST)."""
    day = fifth_birthday_after(holder.birth_date, issued_at.astimezone(JST).date())
    return datetime.combine(day, time(23, 59, 59), JST)

"""The operator's signing key and certificate (PEM), signatures over the manifest, and trust.

Keys: Ed25519 (recommended), ECDSA (signed with SHA-256) or RSA (PSS, SHA-256); an encrypted
key is opened with the password in the environment variable `RIG_PACKAGE_KEY_PASSWORD`.
A signer certificate is trusted when it *is* one of the trusted certificates (pinned), or was
issued directly by one of them that is a CA; its validity must cover the signing time.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from rig.core.pki.certificates import UNREADABLE_CERTIFICATE, fully_parsed

PASSWORD_ENV = "RIG_PACKAGE_KEY_PASSWORD"
#: PEM files are small; refuse to read something that is not one.
MAX_PEM_BYTES = 1 << 20

SigningKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class SigningInputError(ValueError):
    """A key or certificate file that cannot be used; the message names the file and why."""


def _read(path: Path, what: str) -> bytes:
    try:
        if Path(path).stat().st_size > MAX_PEM_BYTES:
            raise SigningInputError(f"{path}: too large for a PEM {what}")
        return Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise SigningInputError(f"{path}: no such file ({what})") from exc
    except IsADirectoryError as exc:
        raise SigningInputError(f"{path}: a folder, not a PEM {what}") from exc
    except OSError as exc:
        raise SigningInputError(f"{path}: cannot read the {what}: {exc.strerror}") from exc


def load_signing_key(path: Path) -> SigningKey:
    data = _read(path, "private key")
    password = os.environ.get(PASSWORD_ENV)
    try:
        key = serialization.load_pem_private_key(
            data, password=password.encode() if password else None
        )
    except TypeError as exc:  # encrypted without a password, or a password for a plain key
        raise SigningInputError(f"{path}: {exc} (set {PASSWORD_ENV} for an encrypted key)") from exc
    except ValueError as exc:
        raise SigningInputError(
            f"{path}: not a PEM private key, or a wrong password ({exc})"
        ) from exc
    if not isinstance(key, SigningKey):
        raise SigningInputError(f"{path}: a {type(key).__name__}; use an Ed25519, ECDSA or RSA key")
    return key


def load_certificates(path: Path) -> list[x509.Certificate]:
    data = _read(path, "certificate")
    try:
        certs = [fully_parsed(cert) for cert in x509.load_pem_x509_certificates(data)]
    except UNREADABLE_CERTIFICATE as exc:
        raise SigningInputError(f"{path}: not a PEM certificate ({exc})") from exc
    if not certs:
        raise SigningInputError(f"{path}: holds no certificate")
    return certs


def _public_bytes(key: object) -> bytes:
    assert hasattr(key, "public_bytes")
    raw: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return raw


def check_pair(key: SigningKey, cert: x509.Certificate, key_path: Path, cert_path: Path) -> None:
    if _public_bytes(key.public_key()) != _public_bytes(cert.public_key()):
        raise SigningInputError(f"{cert_path}: this certificate is not for the key in {key_path}")


def sign(key: SigningKey, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(data, _pss(), hashes.SHA256())


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)


def signature_valid(cert: x509.Certificate, signature: bytes, data: bytes) -> bool:
    key = cert.public_key()
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, _pss(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def trust_problem(
    signer: x509.Certificate, trusted: list[x509.Certificate], signed_at: datetime | None
) -> str | None:
    """Why `signer` is not trusted by `trusted`, or None when it is."""
    name = signer.subject.rfc4514_string()
    if signed_at is not None and not (
        signer.not_valid_before_utc <= signed_at <= signer.not_valid_after_utc
    ):
        return (
            f"signer certificate {name!r} was not valid when the package was signed "
            f"({signed_at.isoformat()}; valid {signer.not_valid_before_utc.isoformat()} to "
            f"{signer.not_valid_after_utc.isoformat()})"
        )
    if any(fingerprint(t) == fingerprint(signer) for t in trusted):
        return None
    for issuer in trusted:
        if not _is_ca(issuer) or issuer.subject != signer.issuer:
            continue
        try:
            signer.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            continue
        return None
    return (
        f"untrusted signer: certificate {name!r} (SHA-256 {fingerprint(signer)[:16]}…) is neither "
        "a trusted certificate nor issued by a trusted CA"
    )


def write_self_signed_signer(
    folder: Path, common_name: str, *, valid: timedelta = timedelta(days=1)
) -> tuple[Path, Path]:
    """A throw-away operator key (Ed25519) and its self-signed certificate, as PEM files in
    `folder`: what a benchmark or a scenario signs a package with. Never for a real package."""
    from cryptography.x509.oid import NameOID

    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)  # the certificate's validity only: it decides nothing in the rig
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + valid)
        .sign(key, None)
    )
    key_path, cert_path = folder / "operator.key.pem", folder / "operator.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path

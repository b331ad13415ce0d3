"""rig.core.pki: the deterministic test JPKI, its certificates and the revocation store."""

from __future__ import annotations

import shutil
import threading
from datetime import date, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rig.core.clock import JST
from rig.core.pki.jpki import (
    OID_JPKI_ADDRESS,
    OID_JPKI_BIRTH_DATE,
    OID_JPKI_NAME,
    OID_JPKI_SEX,
    Device,
    Holder,
    JpkiAuthority,
    JpkiError,
    Sex,
    era_birth_date,
    fifth_birthday_after,
)
from rig.core.pki.keys import KeyCache, derive_rsa_key
from rig.core.pki.revocation import CertStatus, RevocationError, RevocationStore
from tests.card.conftest import CARD_TEST_SEED, PKI_FOLDER

HOLDER = Holder("T-PKI-1", "署名 一郎", "京都府京都市左京区一丁目", date(1980, 4, 2), Sex.MALE)
ISSUED = datetime(2024, 5, 1, 9, 30, tzinfo=JST)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def test_key_derivation_is_deterministic_and_sound() -> None:
    a = derive_rsa_key("seed-x", "label", bits=1024)
    b = derive_rsa_key("seed-x", "label", bits=1024)
    c = derive_rsa_key("seed-x", "other", bits=1024)
    na, nb = a.private_numbers(), b.private_numbers()
    assert na.public_numbers.n == nb.public_numbers.n and na.d == nb.d
    assert c.public_key().public_numbers().n != na.public_numbers.n
    assert a.key_size == 1024
    sig = a.sign(b"x", padding.PKCS1v15(), hashes.SHA256())
    a.public_key().verify(sig, b"x", padding.PKCS1v15(), hashes.SHA256())


def test_key_cache_reuses_and_repairs(tmp_path: Path) -> None:
    cache = KeyCache(tmp_path, "seed-y")
    key = cache.get("k", bits=1024)
    path = cache.path_for("k")
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    again = KeyCache(tmp_path, "seed-y").get("k", bits=1024)
    assert again.private_numbers() == key.private_numbers()
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\ntorn")  # an interrupted write
    repaired = KeyCache(tmp_path, "seed-y").get("k", bits=1024)
    assert repaired.private_numbers() == key.private_numbers()


def test_key_cache_reuses_loaded_keys_until_the_file_changes(tmp_path: Path) -> None:
    first = KeyCache(tmp_path, "seed-z").get("k", bits=1024)
    # another cache on the same folder: the key loaded in this process, not a fresh load
    assert KeyCache(tmp_path, "seed-z").get("k", bits=1024) is first
    path = KeyCache(tmp_path, "seed-z").path_for("k")
    other = KeyCache(tmp_path / "other", "seed-w").get("k", bits=1024)
    path.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    # the file was rewritten: what it holds now is what get() returns
    again = KeyCache(tmp_path, "seed-z").get("k", bits=1024)
    assert again.private_numbers() == other.private_numbers()


def test_same_seed_gives_byte_identical_pki(tmp_path: Path, jpki_authority: JpkiAuthority) -> None:
    # a second folder with the same keys (their derivation is checked above): every
    # certificate, date and serial must come out byte for byte the same
    shutil.copytree(PKI_FOLDER / "jpki" / "keys", tmp_path / "jpki" / "keys")
    other = JpkiAuthority.load_or_create(tmp_path, CARD_TEST_SEED)
    first = jpki_authority.issue_user(HOLDER, ISSUED)
    second = other.issue_user(HOLDER, ISSUED)
    assert _der(other.root_cert) == _der(jpki_authority.root_cert)
    assert _der(first.auth_cert) == _der(second.auth_cert)
    assert _der(first.sign_cert) == _der(second.sign_cert)


def test_another_seed_gives_another_root(tmp_path: Path, jpki_authority: JpkiAuthority) -> None:
    other_key = KeyCache(tmp_path, "another-seed").get("root-ca")
    assert (
        other_key.public_key().public_numbers()
        != jpki_authority.root_key.public_key().public_numbers()
    )


def test_chain_and_ca_profile(jpki_authority: JpkiAuthority) -> None:
    a = jpki_authority
    a.root_cert.verify_directly_issued_by(a.root_cert)
    a.auth_ca_cert.verify_directly_issued_by(a.root_cert)
    a.sign_ca_cert.verify_directly_issued_by(a.root_cert)
    for ca in (a.root_cert, a.auth_ca_cert, a.sign_ca_cert):
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (PKI_FOLDER / "jpki" / "root-ca.pem").read_bytes() == a.root_cert.public_bytes(
        serialization.Encoding.PEM
    )


def test_ocsp_responder_is_delegated_by_the_issuing_ca(jpki_authority: JpkiAuthority) -> None:
    cert = jpki_authority.ocsp_cert
    cert.verify_directly_issued_by(jpki_authority.auth_ca_cert)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    assert cert.extensions.get_extension_for_class(x509.OCSPNoCheck)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    key = serialization.load_pem_private_key(
        (PKI_FOLDER / "jpki" / "ocsp-responder.key.pem").read_bytes(), None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]


def test_user_certificates(jpki_authority: JpkiAuthority) -> None:
    creds = jpki_authority.issue_user(HOLDER, ISSUED)
    auth, sign = creds.auth_cert, creds.sign_cert
    auth.verify_directly_issued_by(jpki_authority.auth_ca_cert)
    sign.verify_directly_issued_by(jpki_authority.sign_ca_cert)
    assert creds.auth_key.key_size == 2048 and creds.sign_key.key_size == 2048
    assert auth.public_key().public_numbers() == creds.auth_key.public_key().public_numbers()  # type: ignore[union-attr]
    # no name anywhere in the authentication certificate
    assert HOLDER.name.encode() not in _der(auth)
    assert HOLDER.address.encode() not in _der(auth)
    with pytest.raises(x509.ExtensionNotFound):
        auth.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert auth.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value != HOLDER.name
    # the signature certificate carries the four attributes as JPKI otherNames
    san = sign.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    others = {o.type_id: o.value for o in san.get_values_for_type(x509.OtherName)}
    assert (
        others[OID_JPKI_NAME] == b"\x0c" + bytes([len(HOLDER.name.encode())]) + HOLDER.name.encode()
    )
    assert others[OID_JPKI_SEX] == b"\x13\x011"
    assert others[OID_JPKI_BIRTH_DATE] == b"\x13\x09319800402"
    assert HOLDER.address.encode() in others[OID_JPKI_ADDRESS]
    ku = sign.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment
    # validity: from issue to the end of the 5th birthday after it (2025..2029-04-02)
    assert auth.not_valid_before_utc == ISSUED.replace(second=0)
    assert auth.not_valid_after_utc == datetime(2029, 4, 2, 23, 59, 59, tzinfo=JST)
    assert auth.serial_number != sign.serial_number
    aia = auth.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert aia[0].access_location.value == jpki_authority.ocsp_url


def test_serials_are_unique_across_holders_devices_and_dates(
    jpki_authority: JpkiAuthority,
) -> None:
    serials = set()
    for device in (Device.CARD, Device.ANDROID):
        for when in (ISSUED, ISSUED.replace(year=2023)):
            creds = jpki_authority.issue_user(HOLDER, when, device)
            serials |= {creds.auth_serial, creds.sign_serial}
    assert len(serials) == 8
    assert all(0 < s < 2**63 for s in serials)


@pytest.mark.parametrize(
    ("birth", "issued", "expected"),
    [
        (date(1980, 4, 2), date(2024, 5, 1), date(2029, 4, 2)),
        (date(1980, 4, 2), date(2024, 4, 2), date(2029, 4, 2)),  # issued on the birthday
        (date(1980, 4, 2), date(2024, 4, 1), date(2028, 4, 2)),
        (date(1972, 2, 29), date(2024, 3, 1), date(2029, 2, 28)),
        (date(1972, 2, 29), date(2023, 3, 1), date(2028, 2, 29)),
    ],
)
def test_fifth_birthday_rule(birth: date, issued: date, expected: date) -> None:
    assert fifth_birthday_after(birth, issued) == expected


def test_era_birth_dates() -> None:
    assert era_birth_date(date(1925, 1, 1)) == "219250101"
    assert era_birth_date(date(1989, 1, 7)) == "319890107"
    assert era_birth_date(date(1989, 1, 8)) == "419890108"
    assert era_birth_date(date(2019, 5, 1)) == "520190501"
    assert era_birth_date(date(1900, 1, 1)) == "119000101"


def test_issue_refuses_bad_input(jpki_authority: JpkiAuthority) -> None:
    with pytest.raises(JpkiError):
        jpki_authority.issue_user(HOLDER, datetime(2024, 5, 1))
    with pytest.raises(JpkiError):
        jpki_authority.issue_user(HOLDER, datetime(1970, 1, 1, tzinfo=JST))


def test_revocation_store(jpki_authority: JpkiAuthority) -> None:
    holder = Holder("T-PKI-REVOKE", "失効 三郎", "沖縄県那覇市", date(1999, 9, 9))
    creds = jpki_authority.issue_user(holder, ISSUED)
    serial = creds.auth_serial
    when = datetime(2025, 2, 1, 12, 0, tzinfo=JST)
    before, after = datetime(2025, 1, 31, tzinfo=JST), datetime(2025, 2, 2, tzinfo=JST)
    jpki_authority.revoke(serial, when, x509.ReasonFlags.key_compromise)
    assert jpki_authority.status(serial) is CertStatus.REVOKED
    assert jpki_authority.status(serial, at=after) is CertStatus.REVOKED
    assert jpki_authority.status(serial, at=before) is CertStatus.GOOD
    assert jpki_authority.status(creds.sign_serial) is CertStatus.GOOD
    assert jpki_authority.status(12345) is CertStatus.UNKNOWN
    found = jpki_authority.revocations.revocation(serial)
    assert found is not None and found.reason is x509.ReasonFlags.key_compromise
    assert found.revoked_at == when
    # revoking again keeps the first record
    jpki_authority.revoke(serial, after, x509.ReasonFlags.superseded)
    again = jpki_authority.revocations.revocation(serial)
    assert again is not None and again.revoked_at == when
    assert any(r.serial == serial for r in jpki_authority.revocations.revocations())
    with pytest.raises(RevocationError):
        jpki_authority.revoke(777, when)
    with pytest.raises(RevocationError):
        jpki_authority.revoke(serial, datetime(2025, 2, 1))
    with pytest.raises(RevocationError):
        jpki_authority.revoke(serial, when, "keyCompromise")  # type: ignore[arg-type]


def test_a_shared_key_folder_never_shares_revocations(tmp_path: Path) -> None:
    """Two runs (or two test workers) on one PKI cache folder each keep their own store:
    a revocation in one is not seen by the other."""
    one = JpkiAuthority.load_or_create(PKI_FOLDER, CARD_TEST_SEED, state_dir=tmp_path / "one")
    two = JpkiAuthority.load_or_create(PKI_FOLDER, CARD_TEST_SEED, state_dir=tmp_path / "two")
    assert one.root_cert == two.root_cert  # the same derived PKI
    holder = Holder("T-PKI-STATE", "状態 一郎", "沖縄県那覇市", date(1990, 1, 1))
    serial = one.issue_user(holder, ISSUED).auth_serial
    two.issue_user(holder, ISSUED)
    one.revoke(serial, datetime(2025, 2, 1, tzinfo=JST))
    assert one.status(serial) is CertStatus.REVOKED
    assert two.status(serial) is CertStatus.GOOD
    assert one.revocations.path != two.revocations.path


def test_revocation_store_answers_many_threads_at_once(tmp_path: Path) -> None:
    """The OCSP responder asks from one thread per connection: every answer stays right."""
    store = RevocationStore(tmp_path / "revocations.sqlite")
    start, end = datetime(2025, 1, 1, tzinfo=JST), datetime(2030, 1, 1, tzinfo=JST)
    for serial in range(1, 41):
        store.record_issued(serial, "auth", "CN=test", start, end)
    for serial in range(1, 41, 2):
        store.revoke(serial, start)
    wrong: list[tuple[int, CertStatus]] = []

    def ask(first: int) -> None:
        for _ in range(20):
            for serial in range(first, 45, 4):
                got = store.status(serial)
                want = (
                    CertStatus.UNKNOWN
                    if serial > 40
                    else CertStatus.REVOKED
                    if serial % 2
                    else CertStatus.GOOD
                )
                if got is not want:
                    wrong.append((serial, got))

    threads = [threading.Thread(target=ask, args=(1 + n % 4,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert wrong == []

"""JPKI authentication at the centre: certificate, signature over the nonce, OCSP, routing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from emulators.jpki import OcspFault
from rig.core.clock import JST
from rig.core.drivers.centre_client import CentreApiError, CentreClient
from rig.core.pki.jpki import UserCredentials
from rig.core.protocols.centre import jpki_digest_info

from .conftest import CITY, SMALL_TOWN, CardUser, CentreWorld


def _attempt(
    kiosk: CentreClient,
    w: CentreWorld,
    cert: x509.Certificate,
    key: rsa.RSAPrivateKey,
    nonce: bytes | None = None,
) -> str:
    session = w.open(kiosk)
    assert session.nonce is not None
    signed = nonce or session.nonce
    signature = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(CentreApiError) as exc:
        kiosk.authenticate_jpki(session.session_id, cert, signature, signed)
    assert exc.value.problem["source"] == "centre"
    return exc.value.code


@pytest.fixture
def holder(world: CentreWorld) -> UserCredentials:
    return world.jpki_holder(1, CITY, world.find(CITY, "eligible", 2))


def test_signature_over_digest_info_is_what_the_card_makes(holder: UserCredentials) -> None:
    """The card signs DigestInfo(SHA-256(nonce)) with raw PKCS#1 v1.5: same as the centre's check."""
    nonce = bytes(range(32))
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    raw = holder.auth_key.sign(
        jpki_digest_info(nonce)[19:], padding.PKCS1v15(), Prehashed(hashes.SHA256())
    )
    public = holder.auth_cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(raw, nonce, padding.PKCS1v15(), hashes.SHA256())


def test_good_holder_is_routed_to_their_municipality(
    world: CentreWorld, holder: UserCredentials
) -> None:
    kiosk = world.kiosk()
    session = world.jpki_login(kiosk, holder)
    assert kiosk.session(session.session_id).municipality_code == CITY
    ocsp = (
        [r for r in world.ocsp.responder.evidence.records("ocsp")]
        if world.ocsp.responder.evidence
        else []
    )
    assert any(r.get("result") == "good" for r in ocsp)


def test_bad_signature(world: CentreWorld, holder: UserCredentials) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert _attempt(world.kiosk(), world, holder.auth_cert, other) == "signature_invalid"


def test_certificate_from_another_ca(world: CentreWorld, holder: UserCredentials) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = holder.auth_ca_cert.subject  # same issuer name, forged: the signature betrays it
    now = datetime(2025, 1, 1, tzinfo=UTC)
    forged = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "forged")]))
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(holder.auth_serial)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    assert _attempt(world.kiosk(), world, forged, key) == "certificate_untrusted"


def test_signature_certificate_is_not_an_authentication_certificate(
    world: CentreWorld, holder: UserCredentials
) -> None:
    assert (
        _attempt(world.kiosk(), world, holder.sign_cert, holder.sign_key) == "certificate_untrusted"
    )


def test_replayed_and_foreign_nonces(world: CentreWorld, holder: UserCredentials) -> None:
    w = world
    kiosk = w.kiosk()
    first = w.open(kiosk)
    assert first.nonce is not None
    signature = w.sign(holder, first.nonce)
    kiosk.authenticate_jpki(first.session_id, holder.auth_cert, signature, first.nonce)
    # the same signed nonce in a new session: not that session's nonce
    second = w.open(kiosk)
    with pytest.raises(CentreApiError) as exc:
        kiosk.authenticate_jpki(second.session_id, holder.auth_cert, signature, first.nonce)
    assert exc.value.code == "nonce_mismatch"
    # a failed attempt spends the nonce: sending it again is a replay
    third = w.open(kiosk)
    assert third.nonce is not None
    bad = w.sign(holder, b"\x00" * 32)
    with pytest.raises(CentreApiError) as exc:
        kiosk.authenticate_jpki(third.session_id, holder.auth_cert, bad, third.nonce)
    assert exc.value.code == "signature_invalid"
    with pytest.raises(CentreApiError) as exc:
        kiosk.authenticate_jpki(
            third.session_id, holder.auth_cert, w.sign(holder, third.nonce), third.nonce
        )
    assert exc.value.code == "nonce_replayed"
    fresh = kiosk.new_nonce(third.session_id)
    kiosk.authenticate_jpki(third.session_id, holder.auth_cert, w.sign(holder, fresh), fresh)


def test_revoked_certificate(world: CentreWorld, holder: UserCredentials) -> None:
    world.authority.revoke(holder.auth_serial, datetime(2025, 6, 1, tzinfo=JST))
    try:
        assert _attempt(world.kiosk(), world, holder.auth_cert, holder.auth_key) == (
            "certificate_revoked"
        )
    finally:
        with world.authority.revocations._db() as db:
            db.execute("DELETE FROM revoked WHERE serial = ?", (holder.auth_serial,))


def test_expired_certificate_on_the_rig_clock(world: CentreWorld, holder: UserCredentials) -> None:
    day_after = holder.auth_cert.not_valid_after_utc.astimezone(JST).date() + timedelta(days=1)
    world.clock.set(datetime(day_after.year, day_after.month, day_after.day, 10, tzinfo=JST))
    assert (
        _attempt(world.kiosk(), world, holder.auth_cert, holder.auth_key) == "certificate_expired"
    )


def test_unregistered_holder(world: CentreWorld) -> None:
    creds = world.holders.get(2)  # never linked to a municipality at this centre
    assert _attempt(world.kiosk(), world, creds.auth_cert, creds.auth_key) == (
        "jpki_holder_unregistered"
    )


def test_jpki_outage_refuses_jpki_but_card_ap_works(
    world: CentreWorld, holder: UserCredentials
) -> None:
    w = world
    now = w.clock.now()
    w.centre.faults.jpki_outage(now, now + timedelta(minutes=90), "JPKI centre outage")
    kiosk = w.kiosk()
    session = w.open(kiosk)
    assert session.nonce is not None
    with pytest.raises(CentreApiError) as exc:
        kiosk.authenticate_jpki(
            session.session_id, holder.auth_cert, w.sign(holder, session.nonce), session.nonce
        )
    assert (exc.value.status, exc.value.code) == (503, "jpki_unavailable")
    assert exc.value.retry_after == str(90 * 60)
    user: CardUser = w.card_user(w.find(SMALL_TOWN, "eligible", 1))
    sid = w.card_login(kiosk, user).session_id
    assert kiosk.session(sid).state == "authenticated"


def test_ocsp_responder_down(world: CentreWorld, holder: UserCredentials) -> None:
    now = world.clock.now()
    world.ocsp_faults.add(OcspFault.DOWN, now, now + timedelta(hours=1))
    world.ocsp.follow_fault_plan()
    world.clock.advance(1)
    assert _attempt(world.kiosk(), world, holder.auth_cert, holder.auth_key) == "jpki_unavailable"


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (OcspFault.WRONG_SIGNER, "ocsp_check_failed"),
        (OcspFault.STALE, "ocsp_check_failed"),
        (OcspFault.MALFORMED, "ocsp_check_failed"),
        (OcspFault.TRY_LATER, "jpki_unavailable"),
    ],
)
def test_unacceptable_ocsp_answers(
    world: CentreWorld, holder: UserCredentials, fault: OcspFault, code: str
) -> None:
    now = world.clock.now()
    world.ocsp_faults.add(fault, now, now + timedelta(hours=1))
    kiosk = world.kiosk()
    assert _attempt(kiosk, world, holder.auth_cert, holder.auth_key) == code

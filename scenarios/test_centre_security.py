"""Who may reach the centre, and whom it accepts as a JPKI user (seed I.1 (4), I.2 (2), II.3 (7)).

Judged at the interfaces: the TLS handshake and the problem document (status, code) the
kiosk API answers; for SEC-005 what reaches an impostor issuance server. The set-up uses
the world's PKI (an unrelated CA, the JPKI signing CA) and the rig clock.
"""

from __future__ import annotations

import socket
import ssl
import threading
from datetime import datetime, time, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from emulators.card import BuiltCard
from emulators.centre import IssuanceCentre
from rig.core.clock import JST
from rig.core.drivers.centre_client import CentreApiError, CentreClient
from rig.core.pki.tls import CertPair
from rig.harness.world import CITY, KIOSK_ID, World
from scenarios.support import KioskSide

pytestmark = pytest.mark.world(marks="layout")


def jpki_attempt(
    backend: World, cert: x509.Certificate, key: rsa.RSAPrivateKey
) -> CentreApiError | None:
    """One JPKI authentication with `cert`, signing the centre's nonce with `key`."""
    kiosk = KioskSide.connect(backend)
    try:
        session = kiosk.open()
        nonce = kiosk.client.new_nonce(session.session_id)
        signature = key.sign(nonce, padding.PKCS1v15(), hashes.SHA256())
        kiosk.client.authenticate_jpki(session.session_id, cert, signature, nonce)
    except CentreApiError as exc:
        return exc
    finally:
        kiosk.close()
    return None


def creds(card: BuiltCard) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    assert card.credentials is not None
    return card.credentials.auth_cert, card.credentials.auth_key


# -- SEC-003: only kiosks of the operators' CA get past the handshake -----------------------
@pytest.mark.requirement("SEC-003")
@pytest.mark.smoke
@pytest.mark.parametrize("client", ["none", "self-signed", "expired", "lgpki-on-kiosk-route"])
def test_only_kiosk_ca_clients_reach_the_kiosk_api(backend: World, client: str) -> None:
    pair: CertPair | None = {
        "none": None,
        "self-signed": backend.tls.self_signed_client("intruder"),
        "expired": backend.tls.expired_client("kiosk", "old-kiosk"),
        "lgpki-on-kiosk-route": backend.tls.lgpki_client(CITY),
    }[client]
    centre = CentreClient(
        backend.endpoints["center_url"], client=pair, server_ca=backend.tls.server_ca, retries=0
    )
    try:
        if client == "lgpki-on-kiosk-route":
            # the centre trusts the LGPKI CA for municipal routes only
            with pytest.raises(CentreApiError) as refused:
                centre.open_session(KIOSK_ID, "store-0001", "rig-konbini")
            assert refused.value.status == 403
            assert refused.value.problem["code"] == "client_not_allowed"
        else:
            with pytest.raises((httpx.TransportError, ssl.SSLError)):
                centre.open_session(KIOSK_ID, "store-0001", "rig-konbini")
    finally:
        centre.close()
    kiosk = KioskSide.connect(backend)
    try:  # the operators' kiosk still gets in
        assert kiosk.open().state == "open"
    finally:
        kiosk.close()


# -- SEC-005: the centre talks only to issuance servers with a certificate it trusts --------
class ImpostorServer:
    """A TLS server with a certificate from a CA the centre does not trust; counts requests."""

    def __init__(self, pair: CertPair):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(pair.cert, pair.key)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.handshakes += 1
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(1.0)
                    data = tls.recv(65536)
                    if data:
                        self.requests.append(data)
            except (OSError, ssl.SSLError):
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.mark.requirement("SEC-005")
@pytest.mark.parametrize("impostor", ["self-signed", "kiosk-ca"])
def test_no_request_reaches_an_issuance_server_outside_the_trusted_chain(
    backend: World, tmp_path: Path, impostor: str
) -> None:
    pair = (
        backend.tls.self_signed_client("127.0.0.1")
        if impostor == "self-signed"
        else backend.tls.kiosk_client("127.0.0.1")
    )
    server = ImpostorServer(pair)
    url = f"https://127.0.0.1:{server.port}/v1/municipalities/{CITY}"
    centre = IssuanceCentre(
        backend.clock, None, tmp_path / "second-centre", backend.tls, {CITY: url},
        backend.endpoints["ocsp_url"], backend.authority.auth_ca_cert, municipal_timeout=3.0,
    )  # fmt: skip
    client = CentreClient(
        centre.start()["center_url"],
        client=backend.tls.kiosk_client(KIOSK_ID),
        server_ca=backend.tls.server_ca,
    )
    try:
        session = client.open_session(KIOSK_ID, "store-0001", "rig-konbini")
        with pytest.raises(CentreApiError) as refused:
            client.card_ap_challenge(session.session_id, CITY, "KIOSK00000000001")
        assert refused.value.status == 502
        assert refused.value.problem["code"] == "municipality_unreachable"
        assert server.handshakes >= 1, "the centre never tried"
        assert server.requests == [], "a request was sent to an untrusted server"
    finally:
        client.close()
        centre.stop()
        server.stop()


# -- SEC-006: a signature over this session's fresh nonce, once -----------------------------
@pytest.mark.requirement("SEC-006")
@pytest.mark.smoke
def test_a_signature_over_the_fresh_nonce_is_accepted(backend: World) -> None:
    card = backend.issue_card("mynumber-valid", backend.resident())
    assert jpki_attempt(backend, *creds(card)) is None


@pytest.mark.requirement("SEC-006")
@pytest.mark.parametrize("forgery", ["other-key", "other-nonce", "truncated"])
def test_a_signature_that_does_not_verify_is_refused(backend: World, forgery: str) -> None:
    card = backend.issue_card("mynumber-valid", backend.resident())
    cert, key = creds(card)
    kiosk = KioskSide.connect(backend)
    try:
        session = kiosk.open()
        nonce = kiosk.client.new_nonce(session.session_id)
        if forgery == "other-key":
            stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            signature = stranger.sign(nonce, padding.PKCS1v15(), hashes.SHA256())
        elif forgery == "other-nonce":
            signature = key.sign(b"\x00" * 32, padding.PKCS1v15(), hashes.SHA256())
        else:
            signature = key.sign(nonce, padding.PKCS1v15(), hashes.SHA256())[:-1]
        with pytest.raises(CentreApiError) as refused:
            kiosk.client.authenticate_jpki(session.session_id, cert, signature, nonce)
        assert (refused.value.status, refused.value.problem["code"]) == (401, "signature_invalid")
        assert kiosk.client.session(session.session_id).state == "open"
    finally:
        kiosk.close()


@pytest.mark.requirement("SEC-006")
@pytest.mark.parametrize("where", ["same-session", "another-session"])
def test_a_replayed_signature_is_refused(backend: World, where: str) -> None:
    card = backend.issue_card("mynumber-valid", backend.resident())
    cert, key = creds(card)
    kiosk = KioskSide.connect(backend)
    try:
        first = kiosk.open()
        nonce = kiosk.client.new_nonce(first.session_id)
        signature = key.sign(nonce, padding.PKCS1v15(), hashes.SHA256())
        kiosk.client.authenticate_jpki(first.session_id, cert, signature, nonce)
        if where == "same-session":
            # a second session must be used: replaying into the authenticated one is refused
            # as already authenticated, so replay after a failed attempt instead
            second = kiosk.open()
            nonce2 = kiosk.client.new_nonce(second.session_id)
            bad = key.sign(b"wrong", padding.PKCS1v15(), hashes.SHA256())
            with pytest.raises(CentreApiError):
                kiosk.client.authenticate_jpki(second.session_id, cert, bad, nonce2)
            good = key.sign(nonce2, padding.PKCS1v15(), hashes.SHA256())
            with pytest.raises(CentreApiError) as replay:
                kiosk.client.authenticate_jpki(second.session_id, cert, good, nonce2)
            assert (replay.value.status, replay.value.problem["code"]) == (409, "nonce_replayed")
        else:
            other = kiosk.open()
            with pytest.raises(CentreApiError) as replay:
                kiosk.client.authenticate_jpki(other.session_id, cert, signature, nonce)
            assert (replay.value.status, replay.value.problem["code"]) == (401, "nonce_mismatch")
            assert kiosk.client.session(other.session_id).state == "open"
    finally:
        kiosk.close()


# -- SEC-007: only certificates of the JPKI user-authentication CA ---------------------------
def rogue_certificate(backend: World, key: rsa.RSAPrivateKey) -> x509.Certificate:
    """Same issuer name as the JPKI authentication CA, signed by a key that CA never had."""
    rogue_ca = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = backend.clock.now()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rogue user")]))
        .issuer_name(backend.authority.auth_ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(rogue_ca, hashes.SHA256())
    )


@pytest.mark.requirement("SEC-007")
@pytest.mark.parametrize("which", ["rogue-ca", "jpki-signing-ca"])
def test_a_certificate_outside_the_jpki_auth_ca_is_refused(backend: World, which: str) -> None:
    card = backend.issue_card("mynumber-valid", backend.resident())
    assert card.credentials is not None
    if which == "rogue-ca":
        key = card.credentials.auth_key
        cert = rogue_certificate(backend, key)
    else:  # the signing certificate (署名用) is from the JPKI signing CA, not the auth CA
        cert, key = card.credentials.sign_cert, card.credentials.sign_key
    refused = jpki_attempt(backend, cert, key)
    assert refused is not None
    assert (refused.status, refused.problem["code"]) == (403, "certificate_untrusted")


# -- SEC-008: validity on the rig clock --------------------------------------------------------
@pytest.mark.requirement("SEC-008")
def test_an_expired_card_certificate_is_refused(backend: World) -> None:
    card = backend.issue_card("mynumber-expired-cert", backend.resident())
    refused = jpki_attempt(backend, *creds(card))
    assert refused is not None
    assert (refused.status, refused.problem["code"]) == (403, "certificate_expired")


@pytest.mark.requirement("SEC-008", "HOURS-009")
@pytest.mark.parametrize(
    ("day", "at", "code"),
    [
        ("last-day", time(12, 0), None),
        ("last-day", time(22, 59, 59), None),  # the last second of service on its last day
        ("day-after", time(12, 0), "certificate_expired"),
        # the first instant of service after it: still the last day in UTC (21:30 UTC)
        ("day-after", time(6, 30), "certificate_expired"),
    ],
    ids=["last-day-noon", "last-day-2259", "day-after-noon", "day-after-0630"],
)
def test_validity_follows_the_rig_clock(
    backend: World, day: str, at: time, code: str | None
) -> None:
    card = backend.issue_card("mynumber-valid", backend.resident())
    cert, key = creds(card)
    # the certificate ends at 23:59:59 JST of its last day: noon of that day is inside it
    end = cert.not_valid_after_utc.astimezone(JST)
    last = end.date() if day == "last-day" else end.date() + timedelta(days=1)
    backend.clock.set(datetime.combine(last, at, JST))
    refused = jpki_attempt(backend, cert, key)
    if code is None:
        assert refused is None, refused
    else:
        assert refused is not None
        assert (refused.status, refused.problem["code"]) == (403, code)

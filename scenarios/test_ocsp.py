"""Revocation checking with the JPKI centre's OCSP responder (seed I.2 (3), II.7.2).

The verdict is the centre's kiosk API answer (status, problem code, session state) and, for
what the centre asks, the OCSP responder's and the municipal link's records in the evidence.
Faults are set up on the rig clock: `world.ocsp_faults` (+ `follow_fault_plan()` for `down`),
`world.centre.faults.jpki_outage`, revocations in the test PKI.
"""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from emulators.card import BuiltCard
from emulators.centre import IssuanceCentre
from emulators.jpki.faults import OcspFault
from rig.core.drivers.centre_client import CentreApiError, CentreClient
from rig.core.protocols.ocsp import request_nonce
from rig.harness.world import CITY, KIOSK_ID, World
from scenarios.support import KioskSide, jpki_refusal

pytestmark = pytest.mark.world(marks="layout")


def card_of(world: World, index: int = 0) -> BuiltCard:
    return world.issue_card("mynumber-valid", world.resident(index=index))


def lgwan_calls(world: World, path: str) -> list[dict[str, object]]:
    assert world.evidence is not None
    return [r for r in world.evidence.records("centre-lgwan") if r.get("path") == path]


# -- OCSP-001 ---------------------------------------------------------------------------------
@pytest.mark.requirement("OCSP-001")
@pytest.mark.smoke
def test_the_certificate_is_checked_before_the_municipality_hears(backend: World) -> None:
    card = card_of(backend)
    assert card.credentials is not None
    assert jpki_refusal(backend, card) is None
    assert backend.evidence is not None
    serial = f"{card.credentials.auth_serial:x}"
    answers = [r for r in backend.evidence.records("ocsp") if r.get("serial") == serial]
    assert [a["result"] for a in answers] == ["good"]
    auth_calls = lgwan_calls(backend, "/auth/jpki")
    assert len(auth_calls) == 1
    assert answers[0]["seq"] < auth_calls[0]["seq"]


# -- OCSP-002 / OCSP-003 ------------------------------------------------------------------------
class MintedHolder:
    """A user certificate of the JPKI authentication CA with a serial of its own, so that
    revoking it never touches the cards other scenarios share (the PKI is cached on disk)."""

    def __init__(self, world: World, *, recorded: bool = True):
        self.world = world
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = world.clock.now()
        authority = world.authority
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "minted holder")]))
            .issuer_name(authority.auth_ca_cert.subject)
            .public_key(self.key.public_key())
            # 63 bits: the test PKI's store keeps serials as SQLite integers
            .serial_number(secrets.randbits(62) | 1 << 61)
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(authority.auth_ca_key, hashes.SHA256())
        )
        if recorded:
            authority.revocations.record_issued(
                self.cert.serial_number, "auth", authority.auth_ca_cert.subject.rfc4514_string(),
                self.cert.not_valid_before_utc, self.cert.not_valid_after_utc,
            )  # fmt: skip
        world.municipal.registry.register_jpki_user(self.cert.serial_number, world.resident())
        world.centre.register_jpki_holder(self.cert.serial_number, CITY)

    def login(self) -> CentreApiError | None:
        kiosk = KioskSide.connect(self.world)
        try:
            session = kiosk.open()
            nonce = kiosk.client.new_nonce(session.session_id)
            signature = self.key.sign(nonce, padding.PKCS1v15(), hashes.SHA256())
            kiosk.client.authenticate_jpki(session.session_id, self.cert, signature, nonce)
        except CentreApiError as exc:
            return exc
        finally:
            kiosk.close()
        return None


@pytest.mark.requirement("OCSP-002")
def test_a_revoked_certificate_is_refused_and_nothing_is_issued(backend: World) -> None:
    holder = MintedHolder(backend)
    assert holder.login() is None
    backend.authority.revoke(
        holder.cert.serial_number,
        backend.clock.now() - timedelta(minutes=1),
        x509.ReasonFlags.key_compromise,
    )
    refused = holder.login()
    assert refused is not None
    assert (refused.status, refused.problem["code"]) == (403, "certificate_revoked")
    assert refused.problem.get("message_ja"), "the kiosk needs a message to show"
    assert len(lgwan_calls(backend, "/auth/jpki")) == 1  # the first, good login only
    assert backend.centre.settlement() == []


@pytest.mark.requirement("OCSP-002")
def test_a_revocation_dated_later_is_not_yet_in_effect(backend: World) -> None:
    holder = MintedHolder(backend)
    revoked_at = backend.clock.now() + timedelta(hours=1)
    backend.authority.revoke(holder.cert.serial_number, revoked_at)
    assert holder.login() is None
    backend.clock.set(revoked_at + timedelta(seconds=1))
    refused = holder.login()
    assert refused is not None and refused.problem["code"] == "certificate_revoked"


@pytest.mark.requirement("OCSP-003")
def test_a_certificate_the_responder_does_not_know_is_refused(backend: World) -> None:
    """Signed by the JPKI authentication CA but never issued (not in the JPKI's records)."""
    holder = MintedHolder(backend, recorded=False)
    refused = holder.login()
    assert refused is not None
    assert (refused.status, refused.problem["code"]) == (403, "certificate_status_unknown")
    assert lgwan_calls(backend, "/auth/jpki") == []


# -- OCSP-004: the nonce --------------------------------------------------------------------
class NonceTamperingProxy:
    """Between the centre and the responder: records the centre's nonce, then forwards the
    request with the nonce removed or replaced, so the responder echoes the wrong one."""

    def __init__(self, upstream: str, mode: str):
        self.upstream = upstream
        self.mode = mode
        self.nonces_seen: list[bytes | None] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = proxy.forward(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ocsp"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, der: bytes) -> bytes:
        request = ocsp.load_der_ocsp_request(der)
        self.nonces_seen.append(request_nonce(request))
        builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
            request.issuer_name_hash,
            request.issuer_key_hash,
            request.serial_number,
            request.hash_algorithm,
        )
        if self.mode == "different":
            builder = builder.add_extension(x509.OCSPNonce(b"\x55" * 16), critical=False)
        tampered = builder.build().public_bytes(Encoding.DER)
        return httpx.post(
            self.upstream, content=tampered, headers={"Content-Type": "application/ocsp-request"}
        ).content

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.requirement("OCSP-004")
@pytest.mark.parametrize("mode", ["missing", "different"])
def test_an_answer_without_our_nonce_is_no_answer(
    backend: World, tmp_path: Path, mode: str
) -> None:
    proxy = NonceTamperingProxy(backend.endpoints["ocsp_url"], mode)
    centre = IssuanceCentre(
        backend.clock, backend.evidence, tmp_path / "centre-behind-proxy", backend.tls,
        backend.municipal_urls, proxy.url, backend.authority.auth_ca_cert,
    )  # fmt: skip
    card = card_of(backend)
    assert card.credentials is not None
    centre.register_jpki_holder(card.credentials.auth_serial, CITY)
    client = CentreClient(
        centre.start()["center_url"],
        client=backend.tls.kiosk_client(KIOSK_ID),
        server_ca=backend.tls.server_ca,
    )
    try:
        kiosk = KioskSide(backend, client)
        with pytest.raises(CentreApiError) as refused:
            kiosk.login_jpki(card)
    finally:
        client.close()
        centre.stop()
        proxy.stop()
    assert len(proxy.nonces_seen) == 1
    sent = proxy.nonces_seen[0]
    assert sent is not None and len(sent) >= 16, "the centre sent no nonce"
    assert refused.value.status == 502
    assert refused.value.problem["code"] == "ocsp_check_failed"
    assert "nonce" in str(refused.value.problem.get("ocsp_problem"))
    assert lgwan_calls(backend, "/auth/jpki") == []


# -- OCSP-005 / OCSP-006 / OCSP-007: answers that are no answer -------------------------------
@pytest.mark.requirement("OCSP-005", "OCSP-006", "OCSP-007")
@pytest.mark.parametrize(
    ("fault", "problem"),
    [(OcspFault.WRONG_SIGNER, "ocsp-wrong-signer"), (OcspFault.STALE, "ocsp-stale")],
)
def test_an_unacceptable_answer_is_never_taken_as_good(
    backend: World, fault: OcspFault, problem: str
) -> None:
    card = card_of(backend)
    now = backend.clock.now()
    backend.ocsp_faults.add(fault, now, now + timedelta(hours=1))
    refused = jpki_refusal(backend, card)
    assert refused is not None
    assert refused.status == 502
    assert refused.problem["code"] == "ocsp_check_failed"
    assert refused.problem["ocsp_problem"] == problem
    assert lgwan_calls(backend, "/auth/jpki") == []


@pytest.mark.requirement("OCSP-007")
@pytest.mark.world(marks="layout", ocsp_slow_seconds=1.5, centre_overrides={"ocsp_timeout": 0.5})
@pytest.mark.parametrize(
    "fault", [OcspFault.DOWN, OcspFault.SLOW, OcspFault.TRY_LATER, OcspFault.MALFORMED, "outage"]
)
def test_when_revocation_cannot_be_checked_the_user_is_refused(
    backend: World, fault: OcspFault | str
) -> None:
    card = card_of(backend)
    now = backend.clock.now()
    if fault == "outage":
        backend.centre.faults.jpki_outage(now, now + timedelta(hours=1), "JPKI centre down")
    else:
        assert isinstance(fault, OcspFault)
        backend.ocsp_faults.add(fault, now, now + timedelta(hours=1))
        backend.ocsp.follow_fault_plan()
        backend.clock.advance(0)
    kiosk = KioskSide.connect(backend)
    try:
        session = kiosk.open()
        with pytest.raises(CentreApiError) as refused:
            nonce = kiosk.client.new_nonce(session.session_id)
            assert card.credentials is not None
            signature = card.credentials.auth_key.sign(nonce, padding.PKCS1v15(), hashes.SHA256())
            kiosk.client.authenticate_jpki(
                session.session_id, card.credentials.auth_cert, signature, nonce
            )
        assert kiosk.client.session(session.session_id).state == "open"
    finally:
        kiosk.close()
    if fault is OcspFault.MALFORMED:
        # an answer that does not parse is refused as a failed check (docs/centre.md)
        assert (refused.value.status, refused.value.problem["code"]) == (
            502,
            "ocsp_check_failed",
        )
    else:
        assert (refused.value.status, refused.value.problem["code"]) == (503, "jpki_unavailable")
        assert refused.value.retry_after is not None
    assert lgwan_calls(backend, "/auth/jpki") == []


# -- OCSP-008 / OCSP-009 ------------------------------------------------------------------------
@pytest.mark.requirement("OCSP-008")
def test_card_ap_issues_during_a_jpki_outage(backend: World) -> None:
    now = backend.clock.now()
    backend.centre.faults.jpki_outage(now, now + timedelta(hours=2))
    backend.ocsp_faults.add(OcspFault.DOWN, now, now + timedelta(hours=2))
    backend.ocsp.follow_fault_plan()
    backend.clock.advance(1)
    resident = backend.resident()
    card = backend.issue_card("mynumber-card-ap", resident)
    kiosk = KioskSide.connect(backend)
    try:
        session_id, result = kiosk.login_card_ap(card)
        assert result.state == "authenticated"
        done, pdf = kiosk.issue(session_id, "resident_record")
    finally:
        kiosk.close()
    assert done.state == "completed"
    from scenarios.support import resident_ids_in

    assert set(resident_ids_in(pdf)) == {resident}
    assert jpki_refusal(backend, card_of(backend)) is not None  # JPKI is refused meanwhile


@pytest.mark.requirement("OCSP-009")
@pytest.mark.parametrize("kind", ["responder-down", "scheduled-outage"])
def test_jpki_resumes_after_the_outage_without_restart(backend: World, kind: str) -> None:
    card = card_of(backend)
    now = backend.clock.now()
    end = now + timedelta(minutes=30)
    if kind == "responder-down":
        backend.ocsp_faults.add(OcspFault.DOWN, now, end)
        backend.ocsp.follow_fault_plan()
    else:
        backend.centre.faults.jpki_outage(now, end)
    backend.clock.advance(1)
    refused = jpki_refusal(backend, card)
    assert refused is not None and refused.problem["code"] == "jpki_unavailable"
    backend.clock.set(end + timedelta(seconds=1))
    assert jpki_refusal(backend, card) is None

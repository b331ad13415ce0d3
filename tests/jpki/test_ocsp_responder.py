"""The JPKI OCSP responder, judged by an independent client and by the centre's checks."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from rig.core.pki.jpki import UserCredentials
from rig.core.protocols.ocsp import (
    REQUEST_CONTENT_TYPE,
    OcspCheckError,
    OcspProblem,
    build_request,
    check_response,
    get_path,
    new_nonce,
)
from tests.jpki.conftest import Ocsp, new_holder, write_pem


def ask(service: Ocsp, cred: UserCredentials, nonce: bytes | None = None) -> bytes:
    body = build_request(cred.auth_cert, cred.auth_ca_cert, nonce)
    reply = httpx.post(
        service.url, content=body, headers={"Content-Type": REQUEST_CONTENT_TYPE}, timeout=10
    )
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/ocsp-response"
    return reply.content


def verdict(service: Ocsp, cred: UserCredentials) -> ocsp.OCSPCertStatus:
    nonce = new_nonce()
    der = ask(service, cred, nonce)
    return check_response(der, cred.auth_cert, cred.auth_ca_cert, nonce, service.clock.now()).status


def test_good_revoked_unknown(ocsp_service: Ocsp, holder: UserCredentials) -> None:
    assert verdict(ocsp_service, holder) is ocsp.OCSPCertStatus.GOOD
    other = new_holder(ocsp_service.authority)
    ocsp_service.authority.revoke(
        other.auth_serial,
        ocsp_service.clock.now() - timedelta(hours=1),
        x509.ReasonFlags.key_compromise,
    )
    nonce = new_nonce()
    result = check_response(
        ask(ocsp_service, other, nonce),
        other.auth_cert,
        other.auth_ca_cert,
        nonce,
        ocsp_service.clock.now(),
    )
    assert result.status is ocsp.OCSPCertStatus.REVOKED
    assert result.revocation_reason is x509.ReasonFlags.key_compromise
    # a serial this authority never issued, under its own issuer hashes
    known = ocsp.OCSPRequestBuilder().add_certificate(holder.auth_cert, holder.auth_ca_cert, SHA1())
    hashes_of = known.build()
    unknown = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            hashes_of.issuer_name_hash, hashes_of.issuer_key_hash, 12345, SHA1()
        )
        .build()
    )
    reply = httpx.post(ocsp_service.url, content=unknown.public_bytes(Encoding.DER), timeout=10)
    status = ocsp.load_der_ocsp_response(reply.content).certificate_status
    assert status is ocsp.OCSPCertStatus.UNKNOWN


def test_revocation_dated_later_is_not_yet_effective(
    ocsp_service: Ocsp, holder: UserCredentials
) -> None:
    ocsp_service.authority.revoke(holder.auth_serial, ocsp_service.clock.now() + timedelta(hours=2))
    assert verdict(ocsp_service, holder) is ocsp.OCSPCertStatus.GOOD
    ocsp_service.clock.advance(timedelta(hours=3))
    assert verdict(ocsp_service, holder) is ocsp.OCSPCertStatus.REVOKED


def test_nonce_is_echoed_and_responder_is_delegated(
    ocsp_service: Ocsp, holder: UserCredentials
) -> None:
    nonce = new_nonce()
    response = ocsp.load_der_ocsp_response(ask(ocsp_service, holder, nonce))
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
    signer = response.certificates[0]
    assert signer == ocsp_service.authority.ocsp_cert
    eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING in eku
    with pytest.raises(OcspCheckError) as err:
        check_response(
            ask(ocsp_service, holder, nonce),
            holder.auth_cert,
            holder.auth_ca_cert,
            new_nonce(),
            ocsp_service.clock.now(),
        )
    assert err.value.problem is OcspProblem.NONCE_MISMATCH


def test_get_form(ocsp_service: Ocsp, holder: UserCredentials) -> None:
    der = build_request(holder.auth_cert, holder.auth_ca_cert, None)
    reply = httpx.get(f"{ocsp_service.url}/{get_path(der)}", timeout=10)
    response = ocsp.load_der_ocsp_response(reply.content)
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD


def test_openssl_ocsp_client_gets_good_and_revoked(
    ocsp_service: Ocsp, holder: UserCredentials, tmp_path: Path
) -> None:
    auth = ocsp_service.authority
    issuer = write_pem(tmp_path / "issuer.pem", auth.auth_ca_cert)
    ca = write_pem(tmp_path / "ca.pem", auth.auth_ca_cert, auth.root_cert)
    cert = write_pem(tmp_path / "cert.pem", holder.auth_cert)

    def openssl() -> str:
        result = subprocess.run(
            [
                "openssl",
                "ocsp",
                "-issuer",
                issuer,
                "-cert",
                cert,
                "-url",
                ocsp_service.url,
                "-CAfile",
                ca,
                "-no_cert_checks",
                # openssl judges thisUpdate/nextUpdate by the wall clock; the rig clock is
                # elsewhere in time, so give it a year of tolerance
                "-validity_period",
                "31536000",
                "-attime",
                str(int(ocsp_service.clock.now().timestamp())),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout + result.stderr

    out = openssl()
    assert f"{cert}: good" in out and "Response verify OK" in out, out
    auth.revoke(holder.auth_serial, ocsp_service.clock.now() - timedelta(minutes=1))
    out = openssl()
    assert f"{cert}: revoked" in out and "Response verify OK" in out, out


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ("stale", OcspProblem.STALE),
        ("wrong_signer", OcspProblem.WRONG_SIGNER),
        ("try_later", OcspProblem.UNSUCCESSFUL),
        ("malformed", OcspProblem.MALFORMED),
    ],
)
def test_bad_answers_are_caught_by_the_centre_check(
    ocsp_service: Ocsp, holder: UserCredentials, fault: str, problem: OcspProblem
) -> None:
    from emulators.jpki import OcspFault

    now = ocsp_service.clock.now()
    ocsp_service.faults.add(OcspFault(fault), now, now + timedelta(minutes=30))
    nonce = new_nonce()
    with pytest.raises(OcspCheckError) as err:
        check_response(
            ask(ocsp_service, holder, nonce), holder.auth_cert, holder.auth_ca_cert, nonce, now
        )
    assert err.value.problem is problem
    ocsp_service.clock.advance(timedelta(minutes=31))  # the window closes on the rig clock
    assert verdict(ocsp_service, holder) is ocsp.OCSPCertStatus.GOOD


def test_down_window_refuses_connections_on_the_rig_clock(
    ocsp_service: Ocsp, holder: UserCredentials
) -> None:
    from emulators.jpki import OcspFault

    start = ocsp_service.clock.now() + timedelta(minutes=10)
    ocsp_service.faults.add(OcspFault.DOWN, start, start + timedelta(minutes=90))
    ocsp_service.server.follow_fault_plan()
    assert verdict(ocsp_service, holder) is ocsp.OCSPCertStatus.GOOD
    ocsp_service.clock.set(start)
    with pytest.raises(httpx.ConnectError):
        ask(ocsp_service, holder)
    ocsp_service.clock.set(start + timedelta(minutes=90))
    assert verdict(ocsp_service, holder) is ocsp.OCSPCertStatus.GOOD


def test_slow_answer_exceeds_a_client_timeout(ocsp_service: Ocsp, holder: UserCredentials) -> None:
    from emulators.jpki import OcspFault

    now = ocsp_service.clock.now()
    ocsp_service.faults.add(OcspFault.SLOW, now, now + timedelta(minutes=1))
    body = build_request(holder.auth_cert, holder.auth_ca_cert, None)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(ocsp_service.url, content=body, timeout=0.5)


def test_bad_requests_get_specific_answers(ocsp_service: Ocsp) -> None:
    garbage = httpx.post(ocsp_service.url, content=b"\x30\x82garbage", timeout=10)
    assert garbage.status_code == 200
    assert (
        ocsp.load_der_ocsp_response(garbage.content).response_status
        is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    )
    assert (
        httpx.post(
            ocsp_service.url.replace("/ocsp", "/other"), content=b"x", timeout=10
        ).status_code
        == 404
    )
    big = httpx.post(ocsp_service.url, content=b"\x00" * 20_000, timeout=10)
    assert big.status_code == 413
    bad_get = httpx.get(f"{ocsp_service.url}/not!!base64", timeout=10)
    assert (
        ocsp.load_der_ocsp_response(bad_get.content).response_status
        is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    )

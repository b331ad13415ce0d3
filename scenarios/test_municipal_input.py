"""The issuance server's LGWAN interface under wrong clients and wrong requests (seed I.2, II.3).

The rig plays the centre straight over HTTPS: with its LGPKI-style client certificate for
malformed and out-of-order requests (each must get a 4xx RFC 9457 problem document naming
the fault, never a 5xx or a dropped connection), and with certificates from other CAs, or
none, which the server must refuse at the TLS handshake (SEC-004).
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from rig.core.https import client_ssl_context, https_client
from rig.core.pki.tls import CertPair
from rig.harness.world import CITY, SMALL_TOWN, World

pytestmark = [pytest.mark.municipal_server, pytest.mark.world(marks="layout")]

PROBLEM = "application/problem+json"
SERIAL = "c0ffee"


# -- SEC-004: only the centre's LGPKI certificate gets in -------------------------------------


def _client_of(world: World, kind: str) -> CertPair | None:
    tls = world.tls
    if kind == "lgpki":
        return world.lgwan_client_cert()
    if kind == "kiosk_ca":
        return tls.kiosk_client("kiosk-0001")
    if kind == "self_signed":
        return tls.self_signed_client()
    if kind == "expired_lgpki":
        return tls.expired_client("lgpki")
    return None


@pytest.mark.requirement("SEC-004")
@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("lgpki", marks=pytest.mark.smoke),
        "none",
        pytest.param("kiosk_ca", marks=pytest.mark.smoke),
        "self_signed",
        "expired_lgpki",
    ],
)
def test_only_the_centres_certificate_is_served(backend: World, kind: str) -> None:
    for code, url in backend.municipal_urls.items():
        with https_client(
            url, client=_client_of(backend, kind), server_ca=backend.lgwan_ca(), timeout=5
        ) as client:
            if kind == "lgpki":
                answer = client.get("/statistics")
                assert answer.status_code == 200, answer.text
                assert answer.json()["municipality"] == code
            else:
                with pytest.raises(httpx.TransportError):
                    client.get("/statistics")


# -- INPUT-006: malformed and out-of-order requests -------------------------------------------


@pytest.fixture
def lgwan(backend: World) -> Iterator[httpx.Client]:
    with https_client(
        backend.endpoints["municipal_base_url"],
        client=backend.lgwan_client_cert(),
        server_ca=backend.lgwan_ca(),
    ) as client:
        yield client


def open_session(world: World, lgwan: httpx.Client, code: str = CITY) -> str:
    serial = world.registered_serial(code, world.resident(code))
    opened = lgwan.post(f"/municipalities/{code}/auth/jpki", json={"cert_serial": f"{serial:x}"})
    assert opened.status_code == 201, opened.text
    sid: str = opened.json()["session_id"]
    return sid


def assert_problem(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body = answer.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"] == f"urn:konbini-rig:problem:{code}" and body["title"]


A = f"/municipalities/{CITY}"
S = A + "/sessions/{sid}"
JSON = {"content-type": "application/json"}
Bad = tuple[str, str, Any, int, str]
#: fault family → requests: (method, path, body: dict = JSON, bytes = raw JSON), status, code
BAD_REQUESTS: dict[str, list[Bad]] = {
    "json_syntax": [
        ("POST", A + "/auth/jpki", b"{not json", 400, "invalid_json"),
        ("POST", A + "/auth/jpki", b"[1, 2]", 400, "invalid_body"),
    ],
    "auth_fields": [
        ("POST", A + "/auth/jpki", {}, 422, "invalid_request"),
        ("POST", A + "/auth/jpki", {"cert_serial": 0xC0FFEE}, 422, "invalid_request"),
        ("POST", A + "/auth/jpki", {"cert_serial": SERIAL, "pin": "1234"}, 422,
         "invalid_request"),
        ("POST", A + "/auth/jpki", {"cert_serial": "not-hex"}, 401, "user_not_registered"),
    ],
    "certificate_type": [
        ("POST", S + "/certificates", {"type": "passport"}, 422, "invalid_request"),
        ("POST", S + "/certificates", {"type": "koseki", "variant": "half"}, 422,
         "invalid_request"),
    ],
    "certificate_fields": [
        ("POST", S + "/certificates", {"type": "resident_record", "copies": 0}, 422,
         "invalid_request"),
        ("POST", S + "/certificates", {"type": "resident_record", "copies": 11}, 422,
         "invalid_request"),
        ("POST", S + "/certificates", {"type": "resident_record", "copies": "1"}, 422,
         "invalid_request"),
        ("POST", S + "/certificates",
         {"type": "resident_record", "options": {"include_my_number": 1}}, 422,
         "invalid_request"),
    ],
    "sessions": [
        ("POST", A + "/sessions/no-such-session/certificates", {"type": "resident_record"},
         404, "session_unknown"),
        ("GET", f"/municipalities/{SMALL_TOWN}/sessions/{{sid}}/menu", None, 404,
         "session_unknown"),
    ],
    "card_ap_without_challenge": [
        ("POST", A + "/auth/card-ap",
         {"user_id": "KIOSK00000000001", "challenge": "00" * 16, "response": "00" * 16}, 401,
         "challenge_unknown"),
    ],
    "unknown_documents": [
        ("POST", A + "/documents/991015-20261124-999999/result",
         {"outcome": "printed", "copies_printed": 1}, 404, "document_not_found"),
        ("GET", A + "/documents/991015-20261124-999999", None, 404, "document_not_found"),
    ],
    "routing": [
        ("POST", "/municipalities/999999/auth/jpki", {"cert_serial": SERIAL}, 404,
         "municipality_unknown"),
        ("GET", "/no/such/route", None, 404, "not_found"),
        ("DELETE", A + "/auth/jpki", None, 405, "method_not_allowed"),
        ("GET", A + "/statistics?from=yesterday", None, 422, "invalid_request"),
    ],
    "size": [
        ("POST", A + "/auth/jpki", {"cert_serial": "a" * 70_000}, 413, "body_too_large"),
    ],
}  # fmt: skip


@pytest.mark.requirement("INPUT-006")
@pytest.mark.parametrize("family", list(BAD_REQUESTS))
def test_malformed_requests_get_a_specific_problem(
    backend: World, lgwan: httpx.Client, family: str
) -> None:
    sid = open_session(backend, lgwan)
    for method, path, body, status, code in BAD_REQUESTS[family]:
        target = path.format(sid=sid)
        if isinstance(body, bytes):
            answer = lgwan.request(method, target, content=body, headers=JSON)
        else:
            answer = lgwan.request(method, target, json=body)
        assert_problem(answer, status, code)
    # the server is unharmed: the same session still issues
    after = lgwan.post(S.format(sid=sid) + "/certificates", json={"type": "resident_record"})
    assert after.status_code == 201, after.text


@pytest.mark.requirement("INPUT-006")
def test_wrong_media_type(lgwan: httpx.Client) -> None:
    answer = lgwan.post(
        A + "/auth/jpki", content=b"cert_serial=c0ffee",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert_problem(answer, 415, "unsupported_media_type")


@pytest.mark.requirement("INPUT-006")
@pytest.mark.parametrize("step", ["after_delete", "download_twice", "result_over_copies"])
def test_out_of_order_requests(backend: World, lgwan: httpx.Client, step: str) -> None:
    sid = open_session(backend, lgwan)
    if step == "after_delete":
        assert lgwan.delete(S.format(sid=sid)).status_code == 204
        assert_problem(lgwan.get(S.format(sid=sid) + "/menu"), 404, "session_unknown")
        assert_problem(
            lgwan.post(S.format(sid=sid) + "/certificates", json={"type": "resident_record"}),
            404, "session_unknown",
        )  # fmt: skip
        return
    issued = lgwan.post(
        S.format(sid=sid) + "/certificates",
        json={"type": "resident_record", "copies": 2, "delivery": "url"},
    )
    assert issued.status_code == 201, issued.text
    doc = issued.json()
    if step == "download_twice":
        url = urlsplit(doc["download_url"]).path.removeprefix("/v1")
        first = lgwan.get(url)
        assert first.status_code == 200 and first.content.startswith(b"%PDF-")
        assert_problem(lgwan.get(url), 404, "document_not_found")
    else:
        result = A + f"/documents/{doc['document_id']}/result"
        assert_problem(
            lgwan.post(result, json={"outcome": "printed", "copies_printed": 3}),
            422, "invalid_request",
        )  # fmt: skip
        assert lgwan.post(result, json={"outcome": "printed", "copies_printed": 2}).is_success


def _raw_exchange(world: World, request: bytes) -> tuple[int, dict[str, Any]]:
    """Send raw bytes over TLS with the LGPKI certificate; the status and the JSON body."""
    url = urlsplit(world.endpoints["municipal_base_url"])
    assert url.hostname is not None and url.port is not None
    ctx: ssl.SSLContext = client_ssl_context(world.lgwan_client_cert(), world.lgwan_ca())
    with (
        socket.create_connection((url.hostname, url.port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=url.hostname) as tls,
    ):
        tls.sendall(request)
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    None,
                )
                if length is not None and len(rest) >= length:
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else {}


@pytest.mark.requirement("INPUT-006")
@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (
            b"POST /v1/municipalities/991015/auth/jpki HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: twelve\r\n\r\n{}",
            400,
            "invalid_content_length",
        ),
        (
            b"POST /v1/municipalities/991015/auth/jpki HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n",
            400,
            "invalid_chunked_body",
        ),
        (b"HELLO THERE\r\n\r\n", 400, "http_400"),
    ],
    ids=["content_length", "chunked", "request_line"],
)
def test_malformed_http_gets_a_problem_not_a_dropped_connection(
    backend: World, request_bytes: bytes, status: int, code: str
) -> None:
    got_status, body = _raw_exchange(backend, request_bytes)
    assert (got_status, body.get("code")) == (status, code)
    assert 400 <= got_status < 500

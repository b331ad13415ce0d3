"""rig.core.https (HTTPS JSON server + client helper) and rig.core.pki.tls (the TLS test PKI)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from rig.core.evidence import EvidenceStore
from rig.core.https import (
    PROBLEM_CONTENT_TYPE,
    JsonHttpsServer,
    Problem,
    Request,
    Response,
    client_ssl_context,
    https_client,
)
from rig.core.pki.tls import EXPIRED_UNTIL, TlsMaterial, generate_tls_material


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return generate_tls_material(tmp_path_factory.mktemp("tls"), seed="test-https")


def _echo(request: Request) -> dict[str, Any]:
    return {"peer": request.peer_common_name, "params": request.params, "query": request.query}


def _post(request: Request) -> Response:
    return Response(status=201, json={"got": request.json_object()})


def _boom(_request: Request) -> dict[str, Any]:
    raise RuntimeError("bug in a handler")


def _refuse(_request: Request) -> dict[str, Any]:
    raise Problem(403, "not_today", "Not today", "closed", retry="tomorrow")


@pytest.fixture
def server(tls: TlsMaterial, tmp_path: Path) -> Iterator[JsonHttpsServer]:
    evidence = EvidenceStore(tmp_path / "evidence")
    srv = JsonHttpsServer(
        certificate=tls.server(),
        client_cas=[tls.lgpki_ca],
        max_body=1024,
        io_timeout=1.0,
        connection_deadline=3.0,
        name="test-https",
        evidence=evidence,
    )
    srv.add_route("GET", "/items/{item_id}", _echo)
    srv.add_route("POST", "/items", _post)
    srv.add_route("GET", "/boom", _boom)
    srv.add_route("GET", "/refuse", _refuse)
    srv.start()
    yield srv
    srv.stop()


def _client(server: JsonHttpsServer, tls: TlsMaterial, **kw: Any) -> httpx.Client:
    client = kw.pop("client", tls.lgpki_client())
    return https_client(server.url, client=client, server_ca=tls.server_ca, **kw)


# -- the PKI ---------------------------------------------------------------------------------


def test_material_is_deterministic_and_cached(tmp_path: Path) -> None:
    a = generate_tls_material(tmp_path / "a", seed=7)
    b = generate_tls_material(tmp_path / "b", seed=7)
    c = generate_tls_material(tmp_path / "c", seed=8)
    assert a.server().cert.read_bytes() == b.server().cert.read_bytes()
    assert a.kiosk_client().key.read_bytes() == b.kiosk_client().key.read_bytes()
    assert a.server().cert.read_bytes() != c.server().cert.read_bytes()
    mtime = a.lgpki_ca.stat().st_mtime_ns
    again = TlsMaterial(tmp_path / "a", seed=7)
    assert again.lgpki_ca.stat().st_mtime_ns == mtime  # reused, not rewritten


def test_reseeding_a_folder_replaces_its_files(tmp_path: Path) -> None:
    first = generate_tls_material(tmp_path, seed="one").server().cert.read_bytes()
    second = TlsMaterial(tmp_path, seed="two").server().cert.read_bytes()
    assert first != second


def test_certificates_have_the_right_issuers_and_usages(tls: TlsMaterial) -> None:
    server = tls.server().load_cert()
    assert server.issuer == tls.ca("server").load_cert().subject
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    centre = tls.lgpki_client().load_cert()
    assert centre.issuer == tls.ca("lgpki").load_cert().subject
    kiosk = tls.kiosk_client().load_cert()
    assert kiosk.issuer == tls.ca("kiosk").load_cert().subject
    expired = tls.expired_client().load_cert()
    assert expired.not_valid_after_utc == EXPIRED_UNTIL
    selfsigned = tls.self_signed_client().load_cert()
    assert selfsigned.issuer == selfsigned.subject


# -- the server: good requests -----------------------------------------------------------------


def test_get_with_client_certificate(server: JsonHttpsServer, tls: TlsMaterial) -> None:
    with _client(server, tls) as client:
        r = client.get("/items/a%20b", params={"x": "1"})
    assert r.status_code == 200
    assert r.json() == {
        "peer": "issuance-centre",
        "params": {"item_id": "a b"},
        "query": {"x": "1"},
    }


def test_post_json_and_keep_alive(server: JsonHttpsServer, tls: TlsMaterial) -> None:
    with _client(server, tls) as client:
        for n in range(3):
            r = client.post("/items", json={"n": n, "name": "住民票"})
            assert r.status_code == 201
            assert r.json() == {"got": {"n": n, "name": "住民票"}}


def test_unrouted_request_body_does_not_corrupt_the_next_request(
    server: JsonHttpsServer, tls: TlsMaterial
) -> None:
    """A 404/405 whose body was left unread once garbled the next request on the connection."""
    with _client(server, tls) as client:
        assert client.put("/items", json={}).status_code == 405
        assert client.post("/nowhere", content=b"x" * 100).status_code == 404
        r = client.post("/items", json={"n": 1, "name": "印鑑"})
        assert r.status_code == 201 and r.json() == {"got": {"n": 1, "name": "印鑑"}}


def test_evidence_records_requests(server: JsonHttpsServer, tls: TlsMaterial) -> None:
    with _client(server, tls) as client:
        client.get("/items/1")
        client.get("/nowhere")
    assert server.evidence is not None
    records = list(server.evidence.records("test-https"))
    requests = [r for r in records if r["event"] == "request"]
    assert [(r["path"], r["status"]) for r in requests] == [("/items/1", 200), ("/nowhere", 404)]
    assert requests[1]["code"] == "not_found"
    assert requests[0]["peer"] == "issuance-centre"


# -- the server: problem documents ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/nowhere", {}, 404, "not_found"),
        ("DELETE", "/items", {}, 405, "method_not_allowed"),
        (
            "POST",
            "/items",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/items",
            {"content": b"\xff\xfe", "headers": {"Content-Type": "application/json"}},
            400,
            "invalid_json",
        ),
        ("POST", "/items", {"json": [1, 2]}, 400, "invalid_body"),
        (
            "POST",
            "/items",
            {"content": b'{"a": NaN}', "headers": {"Content-Type": "application/json"}},
            400,
            "invalid_json",
        ),
        ("POST", "/items", {}, 400, "invalid_json"),
        (
            "POST",
            "/items",
            {"content": b"{}", "headers": {"Content-Type": "text/plain"}},
            415,
            "unsupported_media_type",
        ),
        ("POST", "/items", {"content": b"x" * 5000}, 413, "body_too_large"),
        ("GET", "/boom", {}, 500, "internal_error"),
        ("GET", "/refuse", {}, 403, "not_today"),
    ],
)
def test_errors_are_problem_documents(
    server: JsonHttpsServer,
    tls: TlsMaterial,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
) -> None:
    with _client(server, tls) as client:
        r = client.request(method, path, **kwargs)
        assert r.status_code == status
        assert r.headers["content-type"] == PROBLEM_CONTENT_TYPE
        doc = r.json()
        assert doc["code"] == code
        assert doc["status"] == status
        assert doc["type"].endswith(code)
        assert doc["instance"] == path
        # the server is still healthy afterwards
        assert client.get("/items/1").status_code == 200


def test_problem_extensions_and_allow_header(server: JsonHttpsServer, tls: TlsMaterial) -> None:
    with _client(server, tls) as client:
        assert client.get("/refuse").json()["retry"] == "tomorrow"
        r = client.delete("/items")
        assert r.headers["allow"] == "POST"


def test_chunked_body_is_decoded(server: JsonHttpsServer, tls: TlsMaterial) -> None:
    def gen() -> Iterator[bytes]:
        yield b'{"a":'
        yield b"1}"

    with _client(server, tls) as client:
        r = client.post("/items", content=gen(), headers={"Content-Type": "application/json"})
        assert r.status_code == 201
        assert r.json() == {"got": {"a": 1}}


def test_oversized_chunked_body_is_refused(server: JsonHttpsServer, tls: TlsMaterial) -> None:
    def gen() -> Iterator[bytes]:
        for _ in range(3):
            yield b"x" * 400

    with _client(server, tls) as client:
        r = client.post("/items", content=gen())
    assert r.status_code == 413
    assert r.json()["code"] == "body_too_large"


def test_malformed_chunked_body(server: JsonHttpsServer, tls: TlsMaterial) -> None:
    with _tls_socket(server, tls) as sock:
        sock.sendall(b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        data = _read_all(sock)
    assert data.startswith(b"HTTP/1.1 400")
    assert b"invalid_chunked_body" in data


def _tls_socket(server: JsonHttpsServer, tls: TlsMaterial) -> ssl.SSLSocket:
    ctx = client_ssl_context(tls.lgpki_client(), tls.server_ca)
    raw = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=5)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionError, ssl.SSLError):
            break
        if not chunk:
            break
        data += chunk
    return data


def test_garbage_request_line_gets_a_problem(server: JsonHttpsServer, tls: TlsMaterial) -> None:
    with _tls_socket(server, tls) as sock:
        sock.sendall(b"\x00\x01 / garbage\r\n\r\n")
        data = _read_all(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert json.loads(body)["code"] == "http_400"


def test_negative_content_length(server: JsonHttpsServer, tls: TlsMaterial) -> None:
    with _tls_socket(server, tls) as sock:
        sock.sendall(b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
        data = _read_all(sock)
    assert data.startswith(b"HTTP/1.1 400")
    assert b"invalid_content_length" in data


# -- the server: TLS refusals ---------------------------------------------------------------------


def _handshake_fails(server: JsonHttpsServer, tls: TlsMaterial, **kw: Any) -> None:
    errors = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)
    with pytest.raises(errors), _client(server, tls, **kw) as client:
        client.get("/items/1")


def test_missing_client_certificate_is_refused(server: JsonHttpsServer, tls: TlsMaterial) -> None:
    _handshake_fails(server, tls, client=None)
    with _client(server, tls) as client:
        assert client.get("/items/1").status_code == 200


@pytest.mark.parametrize("which", ["kiosk", "expired", "self_signed"])
def test_untrusted_client_certificates_are_refused(
    server: JsonHttpsServer, tls: TlsMaterial, which: str
) -> None:
    pair = {
        "kiosk": tls.kiosk_client(),
        "expired": tls.expired_client(),
        "self_signed": tls.self_signed_client(),
    }[which]
    _handshake_fails(server, tls, client=pair)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        assert server.evidence is not None
        if any(r["event"] == "tls_rejected" for r in server.evidence.records("test-https")):
            break
        time.sleep(0.02)
    else:
        pytest.fail("no tls_rejected evidence")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_1_1_is_refused(server: JsonHttpsServer, tls: TlsMaterial) -> None:
    ctx = client_ssl_context(tls.lgpki_client(), tls.server_ca)
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    raw = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=5)
    with pytest.raises(ssl.SSLError):
        ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    raw.close()


def test_client_refuses_a_server_from_another_ca(tls: TlsMaterial, tmp_path: Path) -> None:
    other = TlsMaterial(tmp_path / "other", seed="other")
    with JsonHttpsServer(certificate=other.server(), client_cas=[tls.lgpki_ca]) as srv:
        srv.add_route("GET", "/x", _echo)
        client = https_client(srv.url, client=tls.lgpki_client(), server_ca=tls.server_ca)
        with pytest.raises(httpx.ConnectError), client:
            client.get("/x")


# -- the server: never hangs -----------------------------------------------------------------------


def test_silent_client_does_not_block_others(server: JsonHttpsServer, tls: TlsMaterial) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
    try:
        started = time.monotonic()
        with _client(server, tls) as client:
            assert client.get("/items/1").status_code == 200
        assert time.monotonic() - started < 2.0
    finally:
        for sock in silent:
            sock.close()


def test_stalled_request_is_cut_off(server: JsonHttpsServer, tls: TlsMaterial) -> None:
    with _tls_socket(server, tls) as sock:
        sock.sendall(b"GET /items/1 HTTP/1.1\r\n")  # and never finishes the headers
        sock.settimeout(6)
        started = time.monotonic()
        _read_all(sock)
        assert time.monotonic() - started < 5.0  # io_timeout 1 s, deadline 3 s


def test_trickling_client_hits_the_connection_deadline(
    server: JsonHttpsServer, tls: TlsMaterial
) -> None:
    with _tls_socket(server, tls) as sock:
        started = time.monotonic()
        closed = False
        sock.sendall(b"GET /items/1 HTTP/1.1\r\n")
        while time.monotonic() - started < 8:
            try:
                sock.sendall(b"X-Slow: 1\r\n")  # one header line every 0.5 s: under io_timeout
                sock.settimeout(0.5)
                if sock.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except (OSError, ssl.SSLError):
                closed = True
                break
        assert closed
        assert time.monotonic() - started < 6.0


def test_kept_alive_connection_outlives_the_deadline_between_requests(
    server: JsonHttpsServer, tls: TlsMaterial
) -> None:
    """The deadline (3 s here) runs per request: a client that keeps one connection busy with
    requests of 0.8 s each for 5 s is never cut in the middle of one (a pooled LGWAN client
    once got RemoteProtocolError under load for exactly this)."""

    def slow(request: Any) -> dict[str, Any]:
        time.sleep(0.8)
        return {"ok": True}

    server.add_route("GET", "/slow", slow)
    with _client(server, tls) as client:
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < 5.0:
            r = client.get("/slow")
            assert r.status_code == 200, r.text
            n += 1
    assert n >= 5


def _raw_tls(server: JsonHttpsServer, tls: TlsMaterial) -> ssl.SSLSocket:
    ctx = client_ssl_context(tls.lgpki_client(), tls.server_ca)
    host, port = server.url.removeprefix("https://").split(":")
    return ctx.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)


def _get_on(sock: ssl.SSLSocket, path: str) -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: rig\r\n\r\n".encode())
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = sock.recv(4096)
        if not chunk:
            return got
        got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(4096)
    return head


def test_idle_kept_alive_connection_is_not_closed_under_the_client(
    server: JsonHttpsServer, tls: TlsMaterial
) -> None:
    """Idle longer than the read time-out (1 s) and the request deadline (3 s), the same
    connection still carries the next request: the server never closes an idle pooled
    connection while a client may be sending on it (a POST lost that way cannot be resent)."""
    server.limits.keepalive_timeout = 30.0
    with _raw_tls(server, tls) as sock:
        assert _get_on(sock, "/items/1").startswith(b"HTTP/1.1 200")
        time.sleep(4.0)
        assert _get_on(sock, "/items/2").startswith(b"HTTP/1.1 200")


def test_idle_connection_closes_after_the_keepalive_timeout(
    server: JsonHttpsServer, tls: TlsMaterial
) -> None:
    server.limits.keepalive_timeout = 0.5
    with _raw_tls(server, tls) as sock:
        assert _get_on(sock, "/items/1").startswith(b"HTTP/1.1 200")
        sock.settimeout(5.0)
        assert sock.recv(1) == b""  # the server closed it: EOF, not a hang


def test_stop_with_open_connections_is_prompt(tls: TlsMaterial) -> None:
    srv = JsonHttpsServer(certificate=tls.server(), client_cas=[tls.lgpki_ca], io_timeout=30)
    srv.add_route("GET", "/x", _echo)
    srv.start()
    port = int(srv.url.rsplit(":", 1)[1])
    idle = socket.create_connection(("127.0.0.1", port))
    ctx = client_ssl_context(tls.lgpki_client(), tls.server_ca)
    half = ctx.wrap_socket(
        socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1"
    )
    half.sendall(b"GET /x HTTP/1.1\r\n")
    time.sleep(0.2)
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 3.0
    idle.close()
    half.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_concurrent_requests(server: JsonHttpsServer, tls: TlsMaterial) -> None:
    results: dict[int, Any] = {}

    def worker(n: int) -> None:
        with _client(server, tls) as client:
            results[n] = client.get(f"/items/{n}").json()["params"]["item_id"]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {n: str(n) for n in range(20)}

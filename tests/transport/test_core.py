"""rig.core.transport: the HTTP core every party runs on (plain HTTP here; TLS in tests/test_https.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rig.core.evidence import EvidenceStore
from rig.core.transport import (
    Fault,
    HttpError,
    HttpServer,
    Limits,
    Misbehaviour,
    Request,
    Response,
    Router,
)


def _echo(request: Request) -> Response:
    return Response(body=request.body or request.params.get("name", "").encode())


def _misbehave(request: Request) -> Response | Fault:
    kind = Misbehaviour(request.params["kind"])
    answer = Response(body=b"0123456789", content_type="text/plain")
    return Fault(kind, answer=answer)


def _teapot(request: Request) -> Response:
    raise HttpError(418, "teapot", "short and stout")


def _boom(request: Request) -> Response:
    raise RuntimeError("bug")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HttpServer]:
    router = Router()
    router.add("GET", "/hello/{name}", _echo)
    router.add("POST", "/echo", _echo)
    router.add("GET", "/fault/{kind}", _misbehave)
    router.add("GET", "/teapot", _teapot)
    router.add("GET", "/boom", _boom)
    router.add("GET", "/files/{rest:path}", lambda r: Response(body=r.params["rest"].encode()))
    router.add("GET", "/slow", lambda r: Response(body=b"late", delay=0.3))
    srv = HttpServer(
        router,
        name="core",
        limits=Limits(max_body=1000, io_timeout=1.0, request_deadline=3.0),
        evidence=EvidenceStore(tmp_path / "evidence"),
    )
    srv.start()
    yield srv
    srv.stop()


def _raw(server: HttpServer, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(data)
        got = b""
        try:
            while chunk := sock.recv(65536):
                got += chunk
        except ConnectionResetError:
            got += b"<reset>"
        return got


def test_routes_params_and_keep_alive(server: HttpServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        for name in ("a%20b", "c"):
            r = http.get(f"/hello/{name}")
            assert r.status_code == 200 and r.text == name.replace("%20", " ")
        assert http.get("/files/x/y.png").text == "x/y.png"
        assert http.post("/echo", content=b"payload").text == "payload"
        assert http.head("/hello/a").content == b""


def test_unknown_path_and_unserved_methods(server: HttpServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/nowhere").status_code == 404
        for method in ("TRACE", "DELETE", "QUERY", "BREW"):
            r = http.request(method, "/hello/a")
            assert r.status_code == 405, method
            assert r.headers["allow"] == "GET, HEAD"


def test_handler_errors_and_bugs_are_answers(server: HttpServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        r = http.get("/teapot")
        assert r.status_code == 418 and "short and stout" in r.text
        assert http.get("/boom").status_code == 500
        assert http.get("/hello/still-up").status_code == 200


def test_body_limits_and_chunked_bodies(server: HttpServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        r = http.post("/echo", content=iter([b"ab", b"cd"]))
        assert r.text == "abcd"
        assert http.post("/echo", content=b"x" * 1001).status_code == 413
        assert http.post("/echo", content=iter([b"x" * 600, b"y" * 600])).status_code == 413


def test_malformed_requests_get_specific_answers(server: HttpServer) -> None:
    assert _raw(server, b"\x00\x01 / garbage\r\n\r\n").startswith(b"HTTP/1.1 400")
    bad_length = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"
    assert _raw(server, bad_length).startswith(b"HTTP/1.1 400")
    for host in (b"", b"Host: x\r\n"):
        long_line = b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n" + host + b"\r\n"
        assert _raw(server, long_line).startswith(b"HTTP/1.1 414")
    many_headers = b"GET /hello/a HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 3000 + b"\r\n"
    assert _raw(server, many_headers).startswith(b"HTTP/1.1 431")
    assert _raw(server, b"GET /hello/a HTTP/2.0\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 505")
    gzip = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
    assert _raw(server, gzip).startswith(b"HTTP/1.1 501")


def test_expect_100_continue(server: HttpServer) -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head + b"Connection: close\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 100")
        sock.sendall(b"body")
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
    assert got.startswith(b"HTTP/1.1 200") and got.endswith(b"body")


@pytest.mark.parametrize(
    ("kind", "expect"),
    [
        ("drop", b""),
        ("reset", b"<reset>"),
        ("garbage", b"\x00\xffNOT HTTP\r\n\r\n"),
        ("truncate", b"01234"),
    ],
)
def test_deliberate_misbehaviour(server: HttpServer, kind: str, expect: bytes) -> None:
    got = _raw(server, f"GET /fault/{kind} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert got.endswith(expect)
    if kind == "truncate":
        assert got.startswith(b"HTTP/1.1 200") and b"Content-Length: 10" in got
    assert server.evidence is not None
    faults = [r["fault"] for r in server.evidence.records("core") if "fault" in r]
    assert faults == [kind]


def test_slow_answer(server: HttpServer) -> None:
    started = time.monotonic()
    assert httpx.get(server.url + "/slow").text == "late"
    assert time.monotonic() - started >= 0.3


def test_a_paused_server_refuses_connections_then_serves_again(server: HttpServer) -> None:
    server.pause()
    assert not server.listening
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/hello/a")
    server.resume()
    assert httpx.get(server.url + "/hello/a").status_code == 200


def test_every_exchange_is_in_the_evidence_before_its_answer(server: HttpServer) -> None:
    assert server.evidence is not None
    with httpx.Client(base_url=server.url) as http:
        for path in ("/hello/a", "/nowhere", "/teapot"):
            http.get(path)
            # the record exists as soon as the client holds the answer
            last = list(server.evidence.records("core"))[-1]
            assert last["event"] == "request" and last["path"] == path
    codes = [
        (r["status"], r["code"]) for r in server.evidence.records("core") if r["event"] == "request"
    ]
    assert codes == [(200, None), (404, "not_found"), (418, "teapot")]


def test_the_watchdog_cuts_a_trickling_request_but_not_an_idle_connection(
    server: HttpServer,
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as idle:
        idle.sendall(b"GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle.recv(4096).startswith(b"HTTP/1.1 200")
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
            slow.sendall(b"GET /hello/b HTTP/1.1\r\n")
            started = time.monotonic()
            cut = False
            while time.monotonic() - started < 8:
                try:
                    slow.sendall(b"X-Slow: 1\r\n")  # under io_timeout each time
                except OSError:
                    cut = True
                    break
                time.sleep(0.3)
            assert cut and time.monotonic() - started < 6
        # idle past the request deadline (3 s): the kept-alive connection still serves
        idle.sendall(b"GET /hello/c HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle.recv(4096).startswith(b"HTTP/1.1 200")

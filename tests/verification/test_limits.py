"""Slow, silent and concurrent clients: bounded waits, specific answers, no hang."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from emulators.verification import Limits, VerificationSite
from tests.verification.helpers import KEY, Specimen, assert_problem, read_response


@pytest.fixture(scope="module")
def strict_site() -> Iterator[VerificationSite]:
    limits = Limits(io_timeout=0.5, connection_deadline=3.0, workers=1, busy_timeout=0.3)
    with VerificationSite(KEY, limits=limits) as running:
        yield running


def _port(site: VerificationSite) -> int:
    return int(site.server.url.rsplit(":", 1)[1])


def test_stalled_body_gets_408_and_others_are_served(strict_site: VerificationSite) -> None:
    with socket.create_connection(("127.0.0.1", _port(strict_site)), timeout=10) as stalled:
        stalled.sendall(
            b"POST /api/verify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            b"Content-Length: 1000\r\n\r\n" + b"\x89PNG\r\n\x1a\n"
        )
        started = time.monotonic()
        with httpx.Client(base_url=strict_site.server.url, timeout=5) as http:
            assert http.get("/healthz").status_code == 200
        status, doc = read_response(stalled)
        waited = time.monotonic() - started
    assert (status, doc["code"]) == (408, "request_timeout")
    assert waited < 3.0


def test_silent_connection_is_closed(strict_site: VerificationSite) -> None:
    with socket.create_connection(("127.0.0.1", _port(strict_site)), timeout=10) as silent:
        started = time.monotonic()
        assert silent.recv(100) == b""  # closed by the server, nothing sent
        assert time.monotonic() - started < 3.0


def test_trickling_client_is_cut_at_the_connection_deadline(strict_site: VerificationSite) -> None:
    with socket.create_connection(("127.0.0.1", _port(strict_site)), timeout=10) as slow:
        slow.sendall(b"GET / HTTP/1.1\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 8.0:
            try:
                slow.sendall(b"X-A: b\r\n")  # one header line every 0.3 s: never idle 0.5 s
            except OSError:
                closed = True
                break
            time.sleep(0.3)
        assert closed, "the connection outlived its deadline"
        assert 2.5 < time.monotonic() - started < 6.0


def test_busy_when_every_decode_slot_is_taken(
    strict_site: VerificationSite, specimen: Specimen
) -> None:
    semaphore = strict_site.server._decoders
    assert semaphore.acquire(timeout=5)
    try:
        with httpx.Client(base_url=strict_site.server.url, timeout=10) as http:
            response = http.post(
                "/api/verify", content=specimen.jpeg, headers={"Content-Type": "image/jpeg"}
            )
        assert_problem(response, "busy")
        assert response.headers["retry-after"] == "5"
    finally:
        semaphore.release()
    with httpx.Client(base_url=strict_site.server.url, timeout=30) as http:
        response = http.post(
            "/api/verify", content=specimen.jpeg, headers={"Content-Type": "image/jpeg"}
        )
    assert response.status_code == 200


def test_keep_alive_survives_refusals(client: httpx.Client, specimen: Specimen) -> None:
    for _ in range(3):
        assert_problem(
            client.post("/api/verify", content=b"junk", headers={"Content-Type": "image/png"}),
            "unsupported_format",
        )
    response = client.post(
        "/api/verify", content=specimen.jpeg, headers={"Content-Type": "image/jpeg"}
    )
    assert response.status_code == 200


def test_stop_returns_promptly_with_open_connections() -> None:
    site = VerificationSite(KEY, limits=Limits(io_timeout=30.0))
    endpoints = site.start()
    assert endpoints["verify_url"].endswith("/") and endpoints["verify_api"].endswith("/api/verify")
    port = _port(site)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        read_response(idle)  # keep-alive connection, left open
        started = time.monotonic()
        site.stop()
        assert time.monotonic() - started < 3.0
        assert idle.recv(10) == b""
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()

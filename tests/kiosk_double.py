"""A misbehaving kiosk adapter for tests: a relay in front of a real robot protocol server.

It forwards every request to the real kiosk (`rig kiosk`) unchanged, except what its
`faults` say: hide the extensions from `/info`, answer `POST /time` without moving the clock,
refuse `POST /config`, answer `POST /restart` with garbage, number the event log's entries
out of order (`GET /events`), or send a stored file that is not base64 (`GET /storage`). A test double, not a mock of
the kiosk: everything else is the real kiosk's answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

#: faults the double knows
FAULTS = (
    "no_extensions",
    "frozen_time",
    "config_refused",
    "restart_garbage",
    "events_out_of_order",
    "storage_garbage",
)


@contextmanager
def misbehaving_kiosk(upstream: str, *faults: str) -> Iterator[str]:
    """Serve a relay to the robot base URL `upstream`; yields the relay's robot base URL."""
    unknown = set(faults) - set(FAULTS)
    assert not unknown, f"unknown faults {unknown}"
    upstream = upstream.rstrip("/")
    client = httpx.Client(timeout=90)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._relay("GET")

        def do_POST(self) -> None:
            self._relay("POST")

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _relay(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            sub = self.path.split("?")[0].removeprefix("/robot")
            if method == "POST" and sub == "/time" and "frozen_time" in faults:
                # claims success, but the kiosk's clock stays where it was
                now = client.get(upstream + "/time").content
                self._send(200, now)
                return
            if method == "POST" and sub == "/config" and "config_refused" in faults:
                problem = {"type": "urn:konbini-rig:problem:locked", "title": "Conflict",
                           "status": 409, "code": "locked", "detail": "settings are locked"}  # fmt: skip
                self._send(409, json.dumps(problem).encode(), "application/problem+json")
                return
            if method == "POST" and sub == "/restart" and "restart_garbage" in faults:
                self._send(200, b"<html>restarting...</html>", "text/html")
                return
            answer = client.request(
                method, upstream + self.path.removeprefix("/robot"), content=body or None,
                headers={"Content-Type": "application/json"} if body else None,
            )  # fmt: skip
            content = answer.content
            if method == "GET" and sub == "/info" and "no_extensions" in faults:
                info = answer.json()
                info.pop("extensions", None)
                content = json.dumps(info).encode()
            if method == "GET" and sub == "/events" and "events_out_of_order" in faults:
                events = answer.json()
                # two entries first whose numbers go back
                entry = {"at": "2026-12-05T09:00:00+09:00", "event": "paid", "data": {}}
                events["entries"][:0] = [{**entry, "seq": 2}, {**entry, "seq": 1}]
                content = json.dumps(events).encode()
            if method == "GET" and sub == "/storage" and "storage_garbage" in faults:
                stored = answer.json()
                stored["files"].insert(
                    0, {"path": "audit.jsonl", "size": 11, "content_b64": "not base64!"}
                )
                content = json.dumps(stored).encode()
            self._send(answer.status_code, content, answer.headers.get("content-type", ""))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/robot"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        client.close()

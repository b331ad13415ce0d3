"""The verification site's HTTP server: the page, /api/verify and /api/compare.

Plain HTTP on 127.0.0.1 (`ThreadingHTTPServer`, one thread per connection). A deployment puts
it behind the operator's TLS front end; the rig runs it locally for kiosk vendors and tests.

Limits, each answered with its problem code (docs/verification-site.md):

- a body over `max_upload` bytes is refused before it is read (`upload_too_large`, 413);
- every socket read has `io_timeout` seconds, a whole body `io_timeout` × 6
  (`request_timeout`, 408), and a watchdog closes any connection older than
  `connection_deadline`: a slow or silent client holds one thread for a bounded time;
- at most `workers` decodes run at once (each takes a few hundred ms and about 100 MB);
  a request that waits longer than `busy_timeout` gets `busy` (503, Retry-After).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from rig.evidence import EvidenceStore
from rig.verification.images import decode_upload
from rig.verification.keys import KeyRing
from rig.verification.problems import PROBLEM_CONTENT_TYPE, Problem
from rig.verification.service import (
    check_document_id,
    compare_front,
    comparison_json,
    verification_json,
    verify_back,
)
from rig.verification.uploads import Upload, parse_upload

#: Largest accepted request body. A 300 dpi gray PNG of a noisy scan is about 7 MB, a
#: 600 dpi colour JPEG 5–15 MB.
DEFAULT_MAX_UPLOAD = 25 << 20
#: An oversized body no larger than this is read and discarded before the 413, so that a
#: client still writing its body reads the answer instead of a reset connection.
DRAIN_LIMIT = 64 << 20
#: Content-Security-Policy of the page: nothing is loaded from anywhere but this site.
PAGE_CSP = (
    "default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; base-uri 'none'"
)


@dataclass(frozen=True)
class Limits:
    max_upload: int = DEFAULT_MAX_UPLOAD
    io_timeout: float = 10.0
    connection_deadline: float = 120.0
    workers: int = 2
    busy_timeout: float = 60.0


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]
    code: str | None = None
    format: str | None = None


def json_reply(document: Any, status: int = 200) -> Reply:
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, "application/json; charset=utf-8", {})


def problem_reply(problem: Problem, instance: str | None) -> Reply:
    body = json.dumps(problem.document(instance), ensure_ascii=False).encode("utf-8")
    headers = {"Retry-After": "5"} if problem.code == "busy" else {}
    if problem.code == "method_not_allowed":
        headers["Allow"] = str(problem.extensions.get("allow", ""))
    return Reply(problem.status, body, PROBLEM_CONTENT_TYPE, headers, code=problem.code)


def page_html(max_upload: int = DEFAULT_MAX_UPLOAD) -> bytes:
    """The page (UTF-8, self-contained), with the upload limit filled in."""
    page = (resources.files("rig.verification") / "index.html").read_bytes()
    megabytes = f"{max_upload / (1 << 20):g}".encode()
    return page.replace(b"__MAX_UPLOAD_MB__", megabytes)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: VerificationServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        self.owner._track(request, True)
        try:
            super().finish_request(request, client_address)
        finally:
            self.owner._track(request, False)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a connection the watchdog closed or the client reset: not the site's fault
        self.owner._record("connection_error", error=traceback.format_exc(limit=1)[-300:])


#: http.server's own refusals (before any route runs), by status.
_HTTP_ERRORS = {
    400: "bad_request",
    408: "request_timeout",
    414: "uri_too_long",
    431: "headers_too_large",
    501: "not_implemented",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "konbini-rig-verification"
    sys_version = ""
    owner: VerificationServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the evidence store records every exchange

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server calls this for malformed request lines and headers
        problem = Problem(_HTTP_ERRORS.get(code, "bad_request"), explain or message)
        self.close_connection = True
        self.request_version = "HTTP/1.1"  # never answer a broken request line HTTP/0.9-style
        with contextlib.suppress(OSError):
            self._send(problem_reply(problem, None))

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _dispatch(self) -> None:
        started = time.perf_counter()
        path = urlsplit(self.path).path
        try:
            reply = self.owner._route(self, path)
        except Problem as problem:
            reply = problem_reply(problem, path)
        except Exception as exc:  # a bug in the site: answer 500, keep serving
            self.owner._record("internal_error", path=path, error=type(exc).__name__)
            reply = problem_reply(Problem("internal_error", type(exc).__name__), path)
            self.close_connection = True
        if reply.status >= 400 and self.command == "POST" and not self._body_consumed:
            self.close_connection = True  # the unread body would be taken as the next request
        # recorded before the answer leaves, so a client never outruns the evidence
        self.owner._record(
            "request",
            method=self.command,
            path=path,
            status=reply.status,
            code=reply.code,
            format=reply.format,
            bytes=self._body_length,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        with contextlib.suppress(OSError):
            self._send(reply)

    def handle_one_request(self) -> None:
        self._body_consumed = False
        self._body_length = 0
        super().handle_one_request()

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    # -- request bodies ----------------------------------------------------------------------
    def read_body(self) -> bytes:
        limits = self.owner.limits
        deadline = time.monotonic() + limits.io_timeout * 6
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked(limits.max_upload, deadline)
        raw = self.headers.get("Content-Length")
        if raw is None:
            raise Problem("length_required", "send Content-Length or chunked encoding")
        try:
            length = int(raw)
            if length < 0:
                raise ValueError
        except ValueError:
            raise Problem("length_required", f"bad Content-Length {raw!r}") from None
        self._body_length = length
        if length > limits.max_upload:
            if length <= DRAIN_LIMIT:
                self._drain(length, deadline)
            raise Problem(
                "upload_too_large",
                f"{length} bytes; the limit is {limits.max_upload} bytes",
                max_upload=limits.max_upload,
            )
        body = self._read_exact(length, deadline)
        self._body_consumed = True
        return body

    def _read_exact(self, length: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        left = length
        while left > 0:
            if time.monotonic() > deadline:
                raise Problem("request_timeout", "the body took too long to arrive")
            try:
                chunk = self.rfile.read(min(left, 1 << 20))
            except (TimeoutError, OSError):
                raise Problem("request_timeout", "the body stopped arriving") from None
            if not chunk:
                raise Problem("request_timeout", f"connection closed {left} bytes short")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _drain(self, length: int, deadline: float) -> None:
        with contextlib.suppress(Problem):
            left = length
            while left > 0:
                left -= len(self._read_exact(min(left, 1 << 20), deadline))
            self._body_consumed = True

    def _read_chunked(self, limit: int, deadline: float) -> bytes:
        out = bytearray()
        while True:
            try:
                line = self.rfile.readline(64)
            except (TimeoutError, OSError):
                raise Problem("request_timeout", "the body stopped arriving") from None
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise Problem("bad_multipart", "malformed chunked encoding") from None
            if size == 0:
                with contextlib.suppress(TimeoutError, OSError):
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                self._body_consumed = True
                self._body_length = len(out)
                return bytes(out)
            if len(out) + size > limit:
                raise Problem("upload_too_large", f"more than {limit} bytes", max_upload=limit)
            out += self._read_exact(size, deadline)
            self._read_exact(2, deadline)


class VerificationServer:
    """The site on 127.0.0.1:`port` (0 = any free port), answering for `keys`."""

    def __init__(
        self,
        keys: KeyRing,
        port: int = 0,
        *,
        limits: Limits | None = None,
        evidence: EvidenceStore | None = None,
        name: str = "verification",
    ):
        self.keys = keys
        self.port = port
        self.limits = limits or Limits()
        self.evidence = evidence
        self.name = name
        self._decoders = threading.BoundedSemaphore(self.limits.workers)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._watchdog: threading.Thread | None = None
        self._stopping = threading.Event()
        self._conns: dict[int, tuple[socket.socket, float]] = {}
        self._lock = threading.Lock()
        self._page = page_html(self.limits.max_upload)
        self._routes: dict[str, dict[str, Callable[[_Handler], Reply]]] = {
            "/": {"GET": self._index},
            "/index.html": {"GET": self._index},
            "/healthz": {"GET": self._health},
            "/api/verify": {"POST": self._verify},
            "/api/compare": {"POST": self._compare},
        }

    # -- life cycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        if self._server is not None:
            return self.url
        handler = type(
            "BoundHandler", (_Handler,), {"owner": self, "timeout": self.limits.io_timeout}
        )
        server = _Server(("127.0.0.1", self.port), handler)
        server.owner = self
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"{self.name}-serve",
            daemon=True,
        )  # fmt: skip
        self._thread.start()
        self._watchdog = threading.Thread(
            target=self._watch, name=f"{self.name}-watch", daemon=True
        )
        self._watchdog.start()
        self._record("started", url=self.url, keys=[k for k, _ in self.keys])
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            open_conns = [sock for sock, _ in self._conns.values()]
        for sock in open_conns:
            _hard_close(sock)
        server.server_close()
        for thread in (self._thread, self._watchdog):
            if thread is not None:
                thread.join(timeout=5)
        self._record("stopped")

    def _track(self, sock: socket.socket, opened: bool) -> None:
        with self._lock:
            if opened:
                self._conns[id(sock)] = (sock, time.monotonic())
            else:
                self._conns.pop(id(sock), None)

    def _watch(self) -> None:
        while not self._stopping.wait(0.25):
            now = time.monotonic()
            with self._lock:
                late = [
                    s for s, t0 in self._conns.values()
                    if now - t0 > self.limits.connection_deadline
                ]  # fmt: skip
            for sock in late:
                _hard_close(sock)

    def _record(self, event: str, **data: Any) -> None:
        if self.evidence is not None:
            self.evidence.record(self.name, event, **data)

    # -- routes ----------------------------------------------------------------------------
    def _route(self, handler: _Handler, path: str) -> Reply:
        methods = self._routes.get(path)
        if methods is None:
            raise Problem("not_found", f"no resource at {path}")
        method = "GET" if handler.command == "HEAD" else handler.command
        action = methods.get(method)
        if action is None:
            allowed = ", ".join(sorted(methods) + (["HEAD"] if "GET" in methods else []))
            raise Problem("method_not_allowed", f"use {allowed}", allow=allowed)
        return action(handler)

    def _index(self, handler: _Handler) -> Reply:
        return Reply(
            200, self._page, "text/html; charset=utf-8", {"Content-Security-Policy": PAGE_CSP}
        )

    def _health(self, handler: _Handler) -> Reply:
        return json_reply({"status": "ok", "keys": len(self.keys)})

    def _upload(self, handler: _Handler) -> Upload:
        query = dict(parse_qsl(urlsplit(handler.path).query, max_num_fields=8))
        body = handler.read_body()
        return parse_upload(handler.headers.get("Content-Type"), body, query)

    def _decode_slot(self) -> contextlib.AbstractContextManager[None]:
        return _Slot(self._decoders, self.limits.busy_timeout)

    def _verify(self, handler: _Handler) -> Reply:
        upload = self._upload(handler)
        document_id = check_document_id(upload.fields.get("document_id"))
        part = upload.file("file", "back")
        with self._decode_slot():
            decoded = decode_upload(part.data)
            found = verify_back(decoded, self.keys, document_id)
            reply = json_reply(verification_json(found))
        reply.format = decoded.format
        return reply

    def _compare(self, handler: _Handler) -> Reply:
        upload = self._upload(handler)
        document_id = check_document_id(upload.fields.get("document_id"))
        back_part = upload.file("back")
        front_part = upload.file("front")
        with self._decode_slot():
            back = decode_upload(back_part.data)
            found = verify_back(back, self.keys, document_id)
            front = decode_upload(front_part.data)
            document = verification_json(found)
            document["comparison"] = comparison_json(compare_front(front, found.reading))
            reply = json_reply(document)
        reply.format = back.format
        return reply


class _Slot(contextlib.AbstractContextManager[None]):
    """One of the limited decode slots, or `busy` after waiting `timeout` seconds."""

    def __init__(self, semaphore: threading.BoundedSemaphore, timeout: float):
        self._semaphore = semaphore
        self._timeout = timeout

    def __enter__(self) -> None:
        if not self._semaphore.acquire(timeout=self._timeout):
            raise Problem("busy", "all decode slots are in use")

    def __exit__(self, *exc: object) -> None:
        self._semaphore.release()


def _hard_close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)

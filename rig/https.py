"""A small reusable HTTPS JSON server (and its client helper) for the rig's emulated services.

- binds `host` (127.0.0.1 by default; port 0 = any free port); `ThreadingHTTPServer`, one
  thread per connection;
- TLS 1.2 or newer only; a client certificate is required and verified against the given CA(s);
  the peer certificate is handed to every handler (`Request.peer_cert`);
- the TLS handshake runs in the connection's thread (never in the accept loop) so a slow or
  silent client cannot stall other clients; every socket operation has a time-out and a
  watchdog shuts down any connection whose current request has run longer than
  `connection_deadline` seconds (a kept-alive connection is timed per request); between
  requests a kept-alive connection may idle `keepalive_timeout` seconds (75), longer than
  clients keep idle pooled connections, so the server is never the side that closes one
  under a client's next request;
- bodies larger than `max_body` are refused (413); chunked bodies are decoded with the same limit;
- every error is an RFC 9457 problem document (`application/problem+json`) with a stable
  `code` member; an unexpected exception in a handler becomes a 500 problem, never a crash.

The client side (`https_client`) is an `httpx.Client` presenting a client certificate and
trusting only the rig's server CA.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
from cryptography import x509
from cryptography.x509.oid import NameOID

from rig.evidence import EvidenceStore
from rig.netaddr import DEFAULT_LISTEN, url_host
from rig.pki.tls import CertPair

PROBLEM_CONTENT_TYPE = "application/problem+json"
JSON_CONTENT_TYPE = "application/json"
#: Problem `type` URIs are this prefix plus the problem's code.
PROBLEM_TYPE_BASE = "urn:konbini-rig:problem:"
DEFAULT_MAX_BODY = 1 << 20
_DRAIN_FACTOR = 8
_LINGER_BYTES = 4 << 20


class Problem(Exception):
    """An RFC 9457 problem: raise it from a handler to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ):
        super().__init__(f"{status} {code}: {detail or title}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions

    def document(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "code": self.code,
        }
        if self.detail:
            doc["detail"] = self.detail
        if instance:
            doc["instance"] = instance
        doc.update(self.extensions)
        return doc


@dataclass(frozen=True)
class Request:
    """One HTTP request as a handler sees it."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: Message
    body: bytes
    peer_cert: x509.Certificate
    client_address: tuple[str, int]

    @property
    def peer_common_name(self) -> str:
        names = self.peer_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else ""

    def json(self) -> Any:
        """The body as JSON; a `Problem` (400/415) when it is not JSON."""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype and ctype != JSON_CONTENT_TYPE and not ctype.endswith("+json"):
            raise Problem(
                415, "unsupported_media_type", "Unsupported media type", f"send {JSON_CONTENT_TYPE}"
            )
        if not self.body:
            raise Problem(400, "invalid_json", "Invalid JSON", "the request body is empty")
        try:
            return json.loads(self.body.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Problem(400, "invalid_json", "Invalid JSON", str(exc)) from None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object (400 `invalid_body` for an array, number, ...)."""
        value = self.json()
        if not isinstance(value, dict):
            raise Problem(400, "invalid_body", "Invalid body", "the body must be a JSON object")
        return value


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are Python's extensions, not JSON (RFC 8259)
    raise Problem(400, "invalid_json", "Invalid JSON", f"{name} is not JSON")


@dataclass
class Response:
    """A handler's answer: `json` (serialised) or raw `body` bytes with `content_type`."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    content_type: str = JSON_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        if self.body is not None:
            return self.body
        if self.json is None:
            return b""
        return json.dumps(self.json, ensure_ascii=False).encode("utf-8")


Handler = Callable[[Request], "Response | dict[str, Any] | list[Any]"]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler

    @property
    def regex(self) -> re.Pattern[str]:
        return _compile(self.pattern)


def _compile(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", pattern)
    out = []
    for i, part in enumerate(parts):
        out.append(f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part))
    return re.compile("^" + "".join(out) + "$")


def server_ssl_context(certificate: CertPair, client_cas: Iterable[Path]) -> ssl.SSLContext:
    """TLS 1.2+ server context requiring a client certificate from one of `client_cas`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(certificate.cert, certificate.key)
    for ca in client_cas:
        ctx.load_verify_locations(cafile=str(ca))
    return ctx


def client_ssl_context(client: CertPair | None, server_ca: Path) -> ssl.SSLContext:
    """TLS 1.2+ client context trusting only `server_ca`, presenting `client` if given."""
    ctx = ssl.create_default_context(cafile=str(server_ca))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if client is not None:
        ctx.load_cert_chain(client.cert, client.key)
    return ctx


def https_client(
    base_url: str,
    *,
    client: CertPair | None,
    server_ca: Path,
    timeout: float = 10.0,
) -> httpx.Client:
    """An httpx client for a rig HTTPS server: client certificate, rig server CA only."""
    return httpx.Client(
        base_url=base_url, verify=client_ssl_context(client, server_ca), timeout=timeout
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # a burst of kiosks (200 at once in the isolation tests) must queue, not be refused
    request_queue_size = 256
    owner: JsonHttpsServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The handshake happens here, in the connection's own thread.
        self.owner._serve_connection(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        # _serve_connection closes the TLS socket; the raw one is detached by then.
        with contextlib.suppress(OSError):
            request.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.owner._record("connection_error", error=traceback.format_exc(limit=3))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "konbini-rig"
    sys_version = ""
    owner: JsonHttpsServer
    peer_cert: x509.Certificate

    def log_message(self, format: str, *args: Any) -> None:
        pass  # evidence records every exchange; stderr stays quiet

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Called by http.server for malformed requests (bad request line, headers...).
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        problem = Problem(code, f"http_{code}", phrase, explain or message)
        self.close_connection = True
        self.request_version = "HTTP/1.1"  # never answer a broken request line HTTP/0.9-style
        self._send(problem_response(problem, getattr(self, "path", None)))

    def _send(self, response: Response) -> None:
        payload = response.encode()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def handle_one_request(self) -> None:
        # Between requests a kept-alive connection waits `keepalive_timeout`, far longer than
        # any client keeps an idle pooled connection (httpx: 5 s). Were the server to give up
        # first, a client could send its next request into a closing connection and get a
        # reset it cannot tell from a lost answer (a POST cannot be resent).
        try:
            self.connection.settimeout(self.owner.keepalive_timeout)
            waiting = self.rfile.peek(1)  # type: ignore[attr-defined]
        except (TimeoutError, OSError, ValueError):
            self.close_connection = True
            return
        if not waiting:
            self.close_connection = True
            return
        self.connection.settimeout(self.owner.io_timeout)
        super().handle_one_request()

    def _dispatch(self) -> None:
        started = time.perf_counter()
        # the deadline runs per request: a kept-alive connection (the centre's LGWAN client
        # pools them) must not be cut in the middle of its tenth request for being old
        self.owner._touch(self.connection)
        response = self.owner._handle(self)
        code = None
        if response.content_type == PROBLEM_CONTENT_TYPE and response.json:
            code = response.json.get("code")
        # recorded before the answer leaves, so a client never outruns the evidence
        self.owner._record(
            "request",
            method=self.command,
            path=urlsplit(self.path).path,
            status=response.status,
            code=code,
            peer=_common_name(self.peer_cert),
            ms=round((time.perf_counter() - started) * 1000, 2),
        )
        self._send(response)
        self.owner._idle(self.connection)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    return Response(
        status=problem.status,
        json=problem.document(instance),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=problem.headers,
    )


class JsonHttpsServer:
    """HTTPS JSON server on `host` (default 127.0.0.1) with mandatory, verified client
    certificates."""

    def __init__(
        self,
        *,
        certificate: CertPair,
        client_cas: Sequence[Path],
        routes: Iterable[Route] = (),
        port: int = 0,
        max_body: int = DEFAULT_MAX_BODY,
        io_timeout: float = 10.0,
        connection_deadline: float = 60.0,
        keepalive_timeout: float = 75.0,
        name: str = "https",
        evidence: EvidenceStore | None = None,
        host: str = DEFAULT_LISTEN,
    ):
        self.context = server_ssl_context(certificate, client_cas)
        self.routes: list[Route] = list(routes)
        self.host = host
        self.port = port
        self.max_body = max_body
        self.io_timeout = io_timeout
        self.connection_deadline = connection_deadline
        self.keepalive_timeout = keepalive_timeout
        self.name = name
        self.evidence = evidence
        self._server: _Server | None = None
        self._handler_class: type[_Handler] | None = None
        self._thread: threading.Thread | None = None
        self._watchdog: threading.Thread | None = None
        self._stopping = threading.Event()
        self._conns: dict[int, tuple[socket.socket, float | None]] = {}
        self._conns_lock = threading.Lock()

    # -- routes ------------------------------------------------------------------------
    def add_route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append(Route(method.upper(), pattern, handler))

    def route_table(self) -> list[tuple[str, str]]:
        """(method, pattern) of every route, for checks against an OpenAPI document."""
        return [(r.method, r.pattern) for r in self.routes]

    # -- life cycle ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("server not started")
        return f"https://{url_host(self.host)}:{self._server.server_address[1]}"

    def start(self) -> str:
        if self._server is not None:
            return self.url
        handler = type("BoundHandler", (_Handler,), {"owner": self, "timeout": self.io_timeout})
        self._handler_class = handler
        server = _Server((self.host, self.port), handler)
        server.owner = self
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{self.name}-serve",
            daemon=True,
        )
        self._thread.start()
        self._watchdog = threading.Thread(
            target=self._watch, name=f"{self.name}-watchdog", daemon=True
        )
        self._watchdog.start()
        self._record("started", url=self.url)
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._conns_lock:
            open_conns = [sock for sock, _ in self._conns.values()]
        for sock in open_conns:
            _hard_shutdown(sock)
        server.server_close()
        # connection threads are daemons (never joined by socketserver): wait for the ones
        # just unblocked, so no handler runs after stop() returns
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            with self._conns_lock:
                if not self._conns:
                    break
            time.sleep(0.01)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._watchdog is not None:
            self._watchdog.join(timeout=5)
        self._record("stopped")

    def __enter__(self) -> JsonHttpsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals -----------------------------------------------------------------------
    def _record(self, event: str, **data: Any) -> None:
        if self.evidence is not None:
            self.evidence.record(self.name, event, **data)

    def _watch(self) -> None:
        while not self._stopping.wait(0.25):
            now = time.monotonic()
            with self._conns_lock:
                late = [
                    s
                    for s, t0 in self._conns.values()
                    if t0 is not None and now - t0 > self.connection_deadline
                ]
            for sock in late:
                _hard_shutdown(sock)

    def _serve_connection(self, raw: socket.socket, client_address: Any) -> None:
        raw.settimeout(self.io_timeout)
        # http.server writes the headers and the body separately; without NODELAY the body
        # waits for the client's delayed ACK (~40 ms on every answer)
        with contextlib.suppress(OSError):
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        except (OSError, ValueError) as exc:
            self._record("tls_rejected", reason=type(exc).__name__)
            return
        key = id(tls)
        with self._conns_lock:
            self._conns[key] = (tls, time.monotonic())
        try:
            try:
                tls.do_handshake()
                der = tls.getpeercert(binary_form=True)
                if der is None:  # CERT_REQUIRED makes this unreachable; keep the guarantee
                    raise ssl.SSLError("no client certificate")
                peer = x509.load_der_x509_certificate(der)
            except (OSError, ValueError) as exc:
                self._record("tls_rejected", reason=_tls_reason(exc))
                return
            handler = type("ConnHandler", (self._server_handler_class(),), {"peer_cert": peer})
            try:
                handler(tls, client_address, self._server)
            except (OSError, ValueError) as exc:
                # a client that vanished or was cut by the watchdog
                self._record("connection_closed", reason=type(exc).__name__)
        finally:
            _lingering_close(tls)
            with self._conns_lock:
                self._conns.pop(key, None)
            with contextlib.suppress(OSError):
                tls.close()

    def _touch(self, conn: Any) -> None:
        with self._conns_lock:
            if id(conn) in self._conns:
                self._conns[id(conn)] = (self._conns[id(conn)][0], time.monotonic())

    def _idle(self, conn: Any) -> None:
        # an idle kept-alive connection is bounded by keepalive_timeout, not the watchdog
        with self._conns_lock:
            if id(conn) in self._conns:
                self._conns[id(conn)] = (self._conns[id(conn)][0], None)

    def _server_handler_class(self) -> type[_Handler]:
        if self._server is None or self._handler_class is None:
            raise OSError("server stopped")
        return self._handler_class

    def _handle(self, h: _Handler) -> Response:
        target = urlsplit(h.path)
        instance = target.path
        try:
            # the body is read before routing: left unread after a 404/405 it would be taken
            # for the start of the next request on a kept-alive connection
            body = self._read_body(h)
            route, params = self._match(h.command, target.path)
            request = Request(
                method=h.command,
                path=target.path,
                params=params,
                query=dict(parse_qsl(target.query, keep_blank_values=True)),
                headers=h.headers,
                body=body,
                peer_cert=h.peer_cert,
                client_address=(str(h.client_address[0]), int(h.client_address[1])),
            )
            result = route.handler(request)
        except Problem as problem:
            if problem.status == 413:
                h.close_connection = True
            return problem_response(problem, instance)
        except Exception as exc:  # any bug becomes a problem document, never a crash
            self._record("handler_error", path=instance, error=repr(exc)[:500])
            internal = Problem(500, "internal_error", "Internal server error", type(exc).__name__)
            return problem_response(internal, instance)
        if isinstance(result, Response):
            return result
        return Response(json=result)

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed: list[str] = []
        for route in self.routes:
            m = route.regex.match(path)
            if m is None:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route, {k: unquote(v) for k, v in m.groupdict().items()}
            allowed.append(route.method)
        if allowed:
            raise Problem(
                405,
                "method_not_allowed",
                "Method not allowed",
                f"{method} is not allowed on {path}",
                headers={"Allow": ", ".join(sorted(set(allowed)))},
            )
        raise Problem(404, "not_found", "Not found", f"no resource at {path}")

    def _drain(self, h: _Handler, length: int) -> None:
        # Reading (and discarding) a moderately oversized body lets the client see the 413
        # instead of a reset; a huge one is cut off unread.
        if length > _DRAIN_FACTOR * self.max_body:
            return
        left = length
        while left > 0:
            chunk = h.rfile.read(min(left, 65536))
            if not chunk:
                return
            left -= len(chunk)

    def _read_chunked(self, h: _Handler) -> bytes:
        body = bytearray()
        while True:
            line = h.rfile.readline(1026)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size < 0 or not line.endswith(b"\n"):
                    raise ValueError
            except ValueError:
                h.close_connection = True
                raise Problem(400, "invalid_chunked_body", "Invalid chunked body", None) from None
            if size == 0:
                break
            if len(body) + size > self.max_body:
                h.close_connection = True
                raise Problem(
                    413,
                    "body_too_large",
                    "Request body too large",
                    f"more than {self.max_body} bytes",
                    limit=self.max_body,
                )
            chunk = h.rfile.read(size)
            if len(chunk) != size or h.rfile.read(2) != b"\r\n":
                h.close_connection = True
                raise Problem(400, "invalid_chunked_body", "Invalid chunked body", "truncated")
            body += chunk
        for _ in range(100):  # trailers, up to the blank line
            if h.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                break
        return bytes(body)

    def _read_body(self, h: _Handler) -> bytes:
        encoding = (h.headers.get("Transfer-Encoding") or "").strip().lower()
        if encoding == "chunked":
            return self._read_chunked(h)
        if encoding:
            h.close_connection = True
            raise Problem(
                501,
                "transfer_encoding_unsupported",
                "Not implemented",
                f"Transfer-Encoding {encoding}",
            )
        raw = h.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
            if length < 0:
                raise ValueError
        except ValueError:
            h.close_connection = True
            raise Problem(
                400, "invalid_content_length", "Invalid Content-Length", repr(raw)
            ) from None
        if length > self.max_body:
            h.close_connection = True
            self._drain(h, length)
            raise Problem(
                413,
                "body_too_large",
                "Request body too large",
                f"{length} bytes; the limit is {self.max_body}",
                limit=self.max_body,
            )
        body = h.rfile.read(length)
        if len(body) != length:
            h.close_connection = True
            raise Problem(400, "truncated_body", "Truncated body", "the client sent fewer bytes")
        return body


def _lingering_close(sock: ssl.SSLSocket) -> None:
    """Stop writing, then drain briefly: a client still sending (an oversized body) would
    otherwise get a TCP reset that destroys the error response before it reads it."""
    with contextlib.suppress(OSError, ValueError):
        socket.socket.shutdown(sock, socket.SHUT_WR)
        sock.settimeout(0.25)
        deadline = time.monotonic() + 1.0
        drained = 0
        while time.monotonic() < deadline and drained < _LINGER_BYTES:
            chunk = sock.recv(65536)
            if not chunk:
                break
            drained += len(chunk)


def _hard_shutdown(sock: socket.socket) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: unblock a reader without touching TLS state
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _tls_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc.__class__.__name__)
    return type(exc).__name__

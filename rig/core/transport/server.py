"""The HTTP/1.1 server of the transport core: sockets, TLS, framing (h11), limits, watchdog.

One accept thread per server and one thread per connection, reused for every request a
kept-alive connection carries (no thread per request). Answers leave in one write with
TCP_NODELAY, so no answer waits for a delayed ACK.

Time limits, all in wall seconds (transport, not business, time):
- every socket read waits at most `io_timeout`; a body that stops arriving gets 408;
- a request (from its first byte, or from the accept for a connection's first request, to
  its answer) is cut by the watchdog after `request_deadline`; an idle kept-alive connection
  is not a request and is never cut by it;
- between requests a kept-alive connection waits `keepalive_timeout` (75 s): longer than any
  client keeps an idle pooled connection (httpx: 5 s), so the server is never the side that
  closes one under a client's next request (a POST lost that way cannot be resent).
"""

from __future__ import annotations

import contextlib
import email.utils
import socket
import ssl
import struct
import threading
import time
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import h11
from cryptography import x509

from rig.core.evidence import EvidenceStore
from rig.core.netaddr import url_host
from rig.core.transport.messages import (
    ErrorFormat,
    Fault,
    Headers,
    HttpError,
    Misbehaviour,
    Request,
    Response,
    common_name,
    plain_error,
)
from rig.core.transport.routes import Router

_RECV = 65536
_LINGER_BYTES = 4 << 20


@dataclass
class Limits:
    """Sizes in bytes, times in wall seconds; read afresh for every connection and request."""

    max_body: int = 1 << 20
    #: request line plus headers
    max_head: int = 16 << 10
    #: an oversized declared body up to this size is read and discarded before the 413, so a
    #: client still writing reads the answer instead of a reset
    drain_limit: int = 8 << 20
    io_timeout: float = 10.0
    request_deadline: float = 60.0
    keepalive_timeout: float = 75.0
    backlog: int = 256


@dataclass(frozen=True, slots=True)
class _Exchange:
    """One request as its evidence names it; `started` is when it began (perf_counter)."""

    method: str
    path: str
    peer: x509.Certificate | None
    started: float


@dataclass(slots=True)
class _Conn:
    """One open connection as the watchdog sees it."""

    sock: socket.socket
    busy_since: float | None = field(default_factory=time.monotonic)


class HttpServer:
    """One HTTP party on `host`:`port` (0 = any free port), TLS when `tls` is given.

    `errors` writes the party's error documents; `request_type` lets a party hand its
    handlers a richer `Request` subclass; `headers` go on every answer."""

    def __init__(
        self,
        router: Router,
        *,
        name: str,
        tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: Limits | None = None,
        errors: ErrorFormat = plain_error,
        evidence: EvidenceStore | None = None,
        request_type: type[Request] = Request,
        server_header: str = "konbini-rig",
        headers: dict[str, str] | None = None,
    ):
        self.router = router
        self.name = name
        self.tls = tls
        self.host = host
        self.port = port
        self.limits = limits or Limits()
        self.errors = errors
        self.evidence = evidence
        self.request_type = request_type
        self._fixed_headers = [("Server", server_header), *(headers or {}).items()]
        self._listener: socket.socket | None = None
        self._listen_lock = threading.Lock()
        self._resumed = threading.Event()
        self._stopping = threading.Event()
        self._running = False
        self._threads: list[threading.Thread] = []
        self._conns: dict[int, _Conn] = {}
        self._conns_lock = threading.Lock()

    # -- life cycle --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if not self._running:
            raise RuntimeError("server not started")
        return f"{'https' if self.tls else 'http'}://{url_host(self.host)}:{self.port}"

    def start(self) -> str:
        if self._running:
            return self.url
        self._stopping.clear()
        self._listen()
        self._running = True
        self._threads = [
            threading.Thread(target=self._accept_loop, name=f"{self.name}-accept", daemon=True),
            threading.Thread(target=self._watch, name=f"{self.name}-watchdog", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self._record("started", url=self.url)
        return self.url

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        self._stopping.set()
        self._resumed.set()
        self._close_listener()
        with self._conns_lock:
            open_conns = [c.sock for c in self._conns.values()]
        for sock in open_conns:
            _hard_shutdown(sock)
        # connection threads are daemons: wait for the ones just unblocked, so no handler
        # runs after stop() returns
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            with self._conns_lock:
                if not self._conns:
                    break
            time.sleep(0.01)
        for thread in self._threads:
            thread.join(timeout=5)
        self._record("stopped")

    def __enter__(self) -> HttpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- a party that is down: the listening socket closes, clients get "connection refused"
    def pause(self) -> None:
        """Close the listening socket (connections already open carry on)."""
        self._close_listener()

    def resume(self) -> None:
        """Listen again on the same port."""
        if self._running and self._listener is None:
            self._listen()

    @property
    def listening(self) -> bool:
        return self._listener is not None

    @property
    def running(self) -> bool:
        """Started and not stopped (it may still be paused: see `listening`)."""
        return self._running

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
            # a burst of kiosks (200 at once in the isolation tests) must queue, not be refused
            sock.listen(self.limits.backlog)
        except OSError:
            sock.close()
            raise
        sock.settimeout(0.5)  # the accept loop notices stop() even if shutdown cannot wake it
        self.port = sock.getsockname()[1]
        with self._listen_lock:
            self._listener = sock
        self._resumed.set()

    def _close_listener(self) -> None:
        with self._listen_lock:
            sock, self._listener = self._listener, None
            self._resumed.clear()
        if sock is not None:
            # shutdown first: it wakes the accept loop, which a bare close would not
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            listener = self._listener
            if listener is None:
                self._resumed.wait(0.1)
                continue
            try:
                raw, _address = listener.accept()
            except (TimeoutError, OSError, ValueError):
                continue  # a time-out, or the listener closed under us (pause or stop)
            threading.Thread(
                target=self._connection, args=(raw,), name=f"{self.name}-conn", daemon=True
            ).start()

    def _watch(self) -> None:
        while not self._stopping.wait(0.25):
            late = time.monotonic() - self.limits.request_deadline
            with self._conns_lock:
                cut = [
                    c.sock
                    for c in self._conns.values()
                    if c.busy_since is not None and c.busy_since < late
                ]
            for sock in cut:
                _hard_shutdown(sock)

    def _record(self, event: str, **data: Any) -> None:
        if self.evidence is not None:
            self.evidence.record(self.name, event, **data)

    # -- one connection ----------------------------------------------------------------------
    def _connection(self, raw: socket.socket) -> None:
        conn = _Conn(raw)
        with self._conns_lock:
            self._conns[id(conn)] = conn
        sock: socket.socket = raw
        linger = False
        try:
            raw.settimeout(self.limits.io_timeout)
            with contextlib.suppress(OSError):
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer: x509.Certificate | None = None
            if self.tls is not None:
                try:
                    # wrapping detaches `raw`: the watchdog and stop() must see the new socket
                    # before the handshake, which runs here, never in the accept loop
                    tls = self.tls.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
                    sock = conn.sock = tls
                    tls.do_handshake()
                    peer = _peer_certificate(tls)
                except (OSError, ValueError) as exc:
                    self._record("tls_rejected", reason=_tls_reason(exc))
                    return
            h = h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_head)
            first = True
            while not self._stopping.is_set():
                keep, linger = self._exchange(h, sock, conn, peer, first)
                if not keep:
                    break
                h.start_next_cycle()
                first = False
        except (OSError, ValueError, h11.LocalProtocolError) as exc:
            # a client that vanished, or one the watchdog cut
            self._record("connection_closed", reason=type(exc).__name__)
        except Exception:
            self._record("connection_error", error=traceback.format_exc(limit=3)[-500:])
        finally:
            if linger:
                _lingering_close(sock)
            with self._conns_lock:
                self._conns.pop(id(conn), None)
            with contextlib.suppress(OSError):
                sock.close()

    def _exchange(
        self,
        h: h11.Connection,
        sock: socket.socket,
        conn: _Conn,
        peer: x509.Certificate | None,
        first: bool,
    ) -> tuple[bool, bool]:
        """One request and its answer: (keep the connection, linger before closing)."""
        head = bytearray()
        try:
            event = self._next_event(h, sock, conn, idle=not first, head=head)
        except h11.RemoteProtocolError as exc:
            error = _head_error(exc, head, self.limits.max_head)
            self._answer_error(h, sock, error, _Exchange("", "", peer, time.perf_counter()))
            return False, True
        except TimeoutError:
            return False, False
        if not isinstance(event, h11.Request):
            return False, False  # the client closed the connection
        started = time.perf_counter()
        oversized = _refused_head(event, self.limits.max_head)
        if oversized is not None:
            # h11 bounds only a head that arrives in pieces (one that came whole is checked
            # here) and takes any HTTP version
            self._answer_error(h, sock, oversized, _Exchange("", "", peer, started))
            return False, True
        method = event.method.decode("ascii", "replace")
        target = event.target.decode("latin-1")
        parts = urlsplit(target)
        path = parts.path
        headers = Headers(list(event.headers))
        seen = _Exchange(method, path, peer, started)
        try:
            # the body is read before routing: left unread after a 404/405 it would be taken
            # for the start of the next request on a kept-alive connection
            body = self._read_body(h, sock, headers)
        except HttpError as error:
            self._answer_error(h, sock, error, seen)
            return False, True
        try:
            handler, params = self.router.match(method, path)
            request = self.request_type(
                method=method,
                path=path,
                params=params,
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers=headers,
                body=body,
                peer_cert=peer,
                target=target,
            )
            result = handler(request)
        except HttpError as error:
            result = self.errors(error, path)
            result.close = result.close or error.close
        except Exception as exc:  # any bug becomes an error answer, never a crash
            self._record("handler_error", path=path, error=repr(exc)[:500])
            internal = HttpError(500, "internal_error", type(exc).__name__)
            result = self.errors(internal, path)
        if isinstance(result, Fault):
            self._misbehave(sock, result, seen)
            return False, False
        if body:
            result.evidence.setdefault("bytes", len(body))
        return self._answer(h, sock, result, seen)

    def _next_event(
        self, h: h11.Connection, sock: socket.socket, conn: _Conn, *, idle: bool, head: bytearray
    ) -> Any:
        while True:
            event = h.next_event()
            if event is not h11.NEED_DATA:
                return event
            if idle and not h.trailing_data[0]:
                # between requests: not timed by the watchdog, waits keepalive_timeout
                conn.busy_since = None
                sock.settimeout(self.limits.keepalive_timeout)
                data = sock.recv(_RECV)
                conn.busy_since = time.monotonic()
                sock.settimeout(self.limits.io_timeout)
                idle = False
            else:
                data = sock.recv(_RECV)
            if len(head) <= self.limits.max_head:
                head += data[: self.limits.max_head + 1 - len(head)]
            h.receive_data(data)

    def _read_body(self, h: h11.Connection, sock: socket.socket, headers: Headers) -> bytes:
        limit = self.limits.max_body
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            self._drain(h, sock, int(declared))
            raise HttpError(
                413,
                "body_too_large",
                f"{declared} bytes; the limit is {limit}",
                limit=limit,
                declared=int(declared),
            )
        if h.client_is_waiting_for_100_continue:
            sock.sendall(h.send(h11.InformationalResponse(status_code=100, headers=[])))
        body = bytearray()
        chunked = "chunked" in (headers.get("transfer-encoding") or "").lower()
        while True:
            try:
                event = h.next_event()
                if event is h11.NEED_DATA:
                    data = sock.recv(_RECV)
                    h.receive_data(data)
                    continue
            except TimeoutError:
                raise HttpError(408, "request_timeout", "the body stopped arriving") from None
            except h11.RemoteProtocolError as exc:
                if chunked:
                    raise HttpError(400, "invalid_chunked_body", str(exc)) from None
                raise HttpError(400, "truncated_body", "the client sent fewer bytes") from None
            if isinstance(event, h11.Data):
                body += event.data
                if len(body) > limit:
                    raise HttpError(413, "body_too_large", f"more than {limit} bytes", limit=limit)
            elif isinstance(event, h11.EndOfMessage):
                return bytes(body)
            else:
                raise HttpError(400, "truncated_body", "the connection ended in the body")

    def _drain(self, h: h11.Connection, sock: socket.socket, length: int) -> None:
        # a moderately oversized body is read and discarded, so the client sees the 413
        # instead of a reset; a huge one is cut off unread
        if length > self.limits.drain_limit:
            return
        deadline = time.monotonic() + self.limits.io_timeout * 6
        with contextlib.suppress(OSError, h11.RemoteProtocolError):
            while time.monotonic() < deadline:
                event = h.next_event()
                if event is h11.NEED_DATA:
                    h.receive_data(sock.recv(_RECV))
                elif not isinstance(event, h11.Data):
                    return

    # -- answers -----------------------------------------------------------------------------
    def _answer(
        self, h: h11.Connection, sock: socket.socket, response: Response, seen: _Exchange
    ) -> tuple[bool, bool]:
        self._record_exchange(seen, response.status, response.code, response.evidence)
        if response.delay > 0:
            time.sleep(response.delay)
        fields: list[tuple[str, str]] = [("Date", email.utils.formatdate(usegmt=True))]
        fields += self._fixed_headers
        if response.content_type is not None:
            fields.append(("Content-Type", response.content_type))
        fields.append(("Content-Length", str(len(response.body))))
        fields += response.headers.items()
        if response.close:
            fields.append(("Connection", "close"))
        head = h11.Response(
            status_code=response.status, headers=fields, reason=_phrase(response.status)
        )
        data = h.send(head) or b""
        if seen.method != "HEAD" and response.body:
            data += h.send(h11.Data(data=response.body)) or b""
        data += h.send(h11.EndOfMessage()) or b""
        sock.sendall(data)
        keep = h.our_state is h11.DONE and h.their_state is h11.DONE and not response.close
        return keep, False

    def _answer_error(
        self, h: h11.Connection, sock: socket.socket, error: HttpError, seen: _Exchange
    ) -> None:
        response = self.errors(error, seen.path or None)
        response.close = True
        if h.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        with contextlib.suppress(OSError, h11.LocalProtocolError):
            self._answer(h, sock, response, seen)

    def _record_exchange(
        self, seen: _Exchange, status: int | None, code: str | None, extra: dict[str, Any]
    ) -> None:
        # recorded before the answer leaves, so a client never outruns the evidence
        if self.evidence is None:
            return
        data: dict[str, Any] = dict(method=seen.method, path=seen.path, status=status, code=code)
        if seen.peer is not None:
            data["peer"] = common_name(seen.peer)
        data["ms"] = round((time.perf_counter() - seen.started) * 1000, 2)
        data.update(extra)
        self.evidence.record(self.name, "request", **data)

    def _misbehave(self, sock: socket.socket, fault: Fault, seen: _Exchange) -> None:
        status = fault.answer.status if fault.answer is not None else None
        self._record_exchange(seen, status, None, {"fault": fault.kind.value})
        if fault.delay > 0:
            time.sleep(fault.delay)
        with contextlib.suppress(OSError):
            if fault.kind is Misbehaviour.RESET:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif fault.kind is Misbehaviour.GARBAGE:
                sock.sendall(fault.payload)
            elif fault.kind is Misbehaviour.TRUNCATE:
                answer = fault.answer or Response(body=b"{}", content_type="application/json")
                head = (
                    f"HTTP/1.1 {answer.status} {_phrase(answer.status).decode()}\r\n"
                    f"Content-Type: {answer.content_type}\r\n"
                    f"Content-Length: {len(answer.body)}\r\n\r\n"
                ).encode("latin-1")
                sock.sendall(head + answer.body[: len(answer.body) // 2])


def _refused_head(event: h11.Request, limit: int) -> HttpError | None:
    """A head h11 took but the core refuses: too large, or not HTTP/1.x."""
    if event.http_version not in (b"1.0", b"1.1"):
        return HttpError(505, "http_version_not_supported", "this server speaks HTTP/1.1")
    if len(event.target) > limit:
        return HttpError(414, "uri_too_long", "the request line is too long")
    if sum(len(n) + len(v) + 4 for n, v in event.headers) + len(event.target) > limit:
        return HttpError(431, "headers_too_large", "the request headers are too large")
    return None


def _head_error(exc: h11.RemoteProtocolError, head: bytearray, limit: int) -> HttpError:
    """The error for a request whose line or headers h11 refused (`head`: its first bytes)."""
    text = str(exc)
    status = exc.error_status_hint
    line_end = head.find(b"\n")
    head_end = head.find(b"\r\n\r\n")
    size = head_end if head_end >= 0 else len(head)  # a body may have come along
    if size > limit and not 0 <= line_end <= limit:
        return HttpError(414, "uri_too_long", "the request line is too long")
    if status == 431 or size > limit:
        return HttpError(431, "headers_too_large", "the request headers are too large")
    if "Content-Length" in text:
        return HttpError(400, "invalid_content_length", text)
    if status == 501:
        return HttpError(501, "transfer_encoding_unsupported", text)
    return HttpError(400, "bad_request", text)


def _phrase(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""


def _peer_certificate(sock: ssl.SSLSocket) -> x509.Certificate | None:
    der = sock.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der) if der else None


def _lingering_close(sock: socket.socket) -> None:
    """Stop writing, then drain briefly: a client still sending (an oversized body) would
    otherwise get a TCP reset that destroys the error answer before it reads it."""
    with contextlib.suppress(OSError, ValueError):
        socket.socket.shutdown(sock, socket.SHUT_WR)
        sock.settimeout(0.25)
        deadline = time.monotonic() + 1.0
        drained = 0
        while time.monotonic() < deadline and drained < _LINGER_BYTES:
            chunk = sock.recv(_RECV)
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

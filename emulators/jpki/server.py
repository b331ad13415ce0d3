"""OCSP over HTTP (RFC 6960 appendix A): POST of the DER request, or GET with it in the URL.

The listening socket follows the fault plan on the rig clock: during a `down` window it is
closed, so clients get "connection refused" exactly as from a dead responder.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, cast

from emulators.jpki.faults import OcspFault
from emulators.jpki.model import OcspResponder
from rig.protocols.ocsp import RESPONSE_CONTENT_TYPE, request_from_get_path

#: Larger requests are refused with 413: a real request for one certificate is ~100 bytes.
MAX_REQUEST = 16 * 1024
SOCKET_TIMEOUT = 5.0
PATH = "/ocsp"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests go to the evidence store, not stderr

    def _send(self, status: int, body: bytes, content_type: str = RESPONSE_CONTENT_TYPE) -> None:
        # One answer per connection: a client that pooled the connection could otherwise send
        # its next request just as the idle time-out closes it (a reset under load).
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: HTTPStatus, why: str) -> None:
        self._send(status, why.encode(), "text/plain; charset=utf-8")

    def _answer(self, request_der: bytes) -> None:
        owner = cast(_ServerFacade, self.server).owner
        if owner.responder.faults.active(owner.responder.clock.now()) is OcspFault.SLOW:
            time.sleep(owner.responder.faults.slow_seconds)
        self._send(HTTPStatus.OK, owner.responder.respond(request_der))

    def do_POST(self) -> None:
        if self.path.rstrip("/") != PATH:
            return self._error(HTTPStatus.NOT_FOUND, f"OCSP is served at {PATH}")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._error(HTTPStatus.LENGTH_REQUIRED, "send Content-Length")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._error(HTTPStatus.LENGTH_REQUIRED, "Content-Length missing or invalid")
        if length < 0 or length > MAX_REQUEST:
            self.close_connection = True
            return self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"at most {MAX_REQUEST} bytes")
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return None
        self._answer(body)
        return None

    def do_GET(self) -> None:
        if not self.path.startswith(PATH + "/"):
            return self._error(HTTPStatus.NOT_FOUND, f"OCSP GET is {PATH}/<base64 request>")
        tail = self.path[len(PATH) + 1 :]
        if len(tail) > 4 * MAX_REQUEST:
            return self._error(HTTPStatus.REQUEST_URI_TOO_LONG, "request too long")
        try:
            der = request_from_get_path(tail)
        except ValueError:
            der = b""  # answered as malformedRequest by the responder
        self._answer(der)
        return None


class _ServerFacade:
    """What BaseHTTPRequestHandler expects of its server."""

    def __init__(self, owner: OcspServer):
        self.owner = owner


class OcspServer:
    """Serves an `OcspResponder` on 127.0.0.1; `start()` returns {'ocsp_url': ...}."""

    def __init__(self, responder: OcspResponder, host: str = "127.0.0.1", port: int = 0):
        self.responder = responder
        self.host = host
        self.port = port
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._facade = _ServerFacade(self)
        self._workers: set[threading.Thread] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PATH}"

    def start(self) -> dict[str, str]:
        self._listen()
        self._thread = threading.Thread(target=self._accept_loop, name="ocsp", daemon=True)
        self._thread.start()
        self.follow_fault_plan()
        return {"ocsp_url": self.url}

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._close_listener()
        for worker in list(self._workers):
            worker.join(SOCKET_TIMEOUT + 1)

    # -- the listening socket follows the `down` windows --------------------------------
    def follow_fault_plan(self) -> None:
        """Schedule listener close/reopen on the rig clock for every `down` window."""
        clock = self.responder.clock
        for window in self.responder.faults.windows():
            if window.fault is OcspFault.DOWN and window.end > clock.now():
                clock.call_at(window.start, self._close_listener)
                clock.call_at(window.end, self._reopen_listener)

    @property
    def listening(self) -> bool:
        return self._listener is not None

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(256)  # a burst of 200 kiosks' checks must queue, not be refused
        self.port = sock.getsockname()[1]
        with self._lock:
            self._listener = sock

    def _close_listener(self) -> None:
        with self._lock:
            sock, self._listener = self._listener, None
        if sock is not None:
            # shutdown first: the accept thread may sit in select() on this socket, which
            # would keep it listening (and later reset queued clients) after a bare close
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _reopen_listener(self) -> None:
        if self._listener is None and not self._stop.is_set():
            self._listen()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                sock = self._listener
            if sock is None:
                time.sleep(0.02)
                continue
            try:
                ready, _, _ = select.select([sock], [], [], 0.1)
                if not ready:
                    continue
                conn, addr = sock.accept()
            except (OSError, ValueError):
                continue  # the listener was closed under us (a `down` window began)
            conn.settimeout(SOCKET_TIMEOUT)
            worker = threading.Thread(target=self._serve, args=(conn, addr), daemon=True)
            self._workers.add(worker)
            worker.start()

    def _serve(self, conn: socket.socket, addr: Any) -> None:
        try:
            _Handler(conn, addr, self._facade)  # type: ignore[arg-type]
        except (OSError, TimeoutError):
            pass  # a client that vanished or stalled costs only its own connection
        finally:
            with contextlib.suppress(OSError):
                conn.close()
            self._workers.discard(threading.current_thread())

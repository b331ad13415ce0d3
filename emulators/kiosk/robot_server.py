"""The robot protocol's HTTP server (rig.protocols.robot), on 127.0.0.1 unless told otherwise.

Plain HTTP/1.1 and JSON, like a vendor's kiosk adapter would serve on its own kiosk. Every
error is an RFC 9457 problem document with a stable `code`; a bad request never reaches
the kiosk's flow, and a stalled client only costs its own connection.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ValidationError

from emulators.kiosk.engine import EngineStopped, KioskEngine
from emulators.kiosk.flow import RobotActionError
from rig.evidence import EvidenceStore
from rig.netaddr import DEFAULT_LISTEN, url_host
from rig.protocols.robot import (
    BASE_PATH,
    MAX_WAIT_S,
    History,
    Keys,
    KioskInfo,
    RobotError,
    ScreenView,
    Tap,
)

MAX_BODY = 4096
IO_TIMEOUT_S = 10.0
PROBLEM_TYPE = "urn:konbini-rig:problem:"


class _Problem(Exception):
    def __init__(self, status: int, code: str, detail: str, **extra: Any):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra


CHANNEL = "kiosk-robot"


class RobotServer:
    def __init__(
        self,
        engine: KioskEngine,
        info: Callable[[], KioskInfo],
        port: int = 0,
        evidence: EvidenceStore | None = None,
        on_reset: Callable[[], ScreenView] | None = None,
        host: str = DEFAULT_LISTEN,
    ):
        self.engine = engine
        self.on_reset = on_reset
        self.info = info
        self.host = host
        self.port = port
        self.evidence = evidence
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: optional extension routes, (method, path) → handler (emulators/kiosk/test_mode.py)
        self.extra_routes: dict[tuple[str, str], Callable[[dict[str, str], bytes], Any]] = {}

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{url_host(self.host)}:{self._server.server_address[1]}{BASE_PATH}"

    def start(self) -> str:
        handler = type("RobotHandler", (_Handler,), {"owner": self, "timeout": IO_TIMEOUT_S})
        server = ThreadingHTTPServer((self.host, self.port), handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="kiosk-robot",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    # -- routes ----------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> Any:
        routes: dict[tuple[str, str], Callable[[dict[str, str], bytes], Any]] = {
            ("GET", "/info"): lambda q, b: self.info(),
            ("GET", "/screen"): self._screen,
            ("GET", "/history"): self._history,
            ("POST", "/tap"): self._tap,
            ("POST", "/keys"): self._keys,
            ("GET", "/held"): lambda q, b: self.engine.call(lambda flow: flow.held()),
            ("POST", "/reset"): self._reset,
            **self.extra_routes,
        }
        if not path.startswith(BASE_PATH + "/"):
            raise _Problem(404, "not_found", f"the robot protocol lives under {BASE_PATH}/")
        sub = path[len(BASE_PATH) :]
        route = routes.get((method, sub))
        if route is None:
            allowed = sorted(m for m, p in routes if p == sub)
            if allowed:
                raise _Problem(405, "method_not_allowed", f"use {', '.join(allowed)}")
            raise _Problem(404, "not_found", f"no route {sub}")
        return route(query, body)

    def _reset(self, query: dict[str, str], body: bytes) -> Any:
        if self.on_reset is None:
            raise _Problem(404, "not_found", "this kiosk cannot be reset")
        try:
            return self.on_reset()
        except (OSError, ValueError, RuntimeError, TimeoutError) as exc:
            # a device the kiosk could not open again: the rig's parties are not up
            raise _Problem(503, RobotError.KIOSK_UNAVAILABLE, f"devices not ready: {exc}") from None

    def _screen(self, query: dict[str, str], body: bytes) -> Any:
        after = _int(query, "after", -1)
        wait = _float(query, "wait", 0.0)
        if not 0 <= wait <= MAX_WAIT_S:
            raise _Problem(422, RobotError.INVALID_REQUEST, f"wait must be 0..{MAX_WAIT_S}")
        return self.engine.wait_view(after, wait)

    def _history(self, query: dict[str, str], body: bytes) -> Any:
        since = _int(query, "since", 0)
        entries = self.engine.call(lambda flow: [e for e in flow.history if e.seq > since])
        return History(entries=entries)

    def _tap(self, query: dict[str, str], body: bytes) -> Any:
        tap = _model(Tap, body)
        self.engine.call(lambda flow: flow.tap(tap.option))
        view = self.engine.view()
        self.record("tap", option=tap.option, screen=view.screen.value)
        return view

    def _keys(self, query: dict[str, str], body: bytes) -> Any:
        keys = _model(Keys, body)
        self.engine.call(lambda flow: flow.keys(keys.keys))
        view = self.engine.view()
        # the keys may be a PIN: only how many were typed is recorded
        self.record("keys", count=len(keys.keys), screen=view.screen.value)
        return view

    def record(self, event: str, **data: Any) -> None:
        if self.evidence is not None:
            self.evidence.record(CHANNEL, event, **data)


def _int(query: dict[str, str], name: str, default: int) -> int:
    try:
        return int(query[name]) if name in query else default
    except ValueError:
        raise _Problem(422, RobotError.INVALID_REQUEST, f"{name} must be an integer") from None


def _float(query: dict[str, str], name: str, default: float) -> float:
    try:
        value = float(query[name]) if name in query else default
    except ValueError:
        raise _Problem(422, RobotError.INVALID_REQUEST, f"{name} must be a number") from None
    if value != value:  # NaN
        raise _Problem(422, RobotError.INVALID_REQUEST, f"{name} must be a number")
    return value


def _model(model: type[BaseModel], body: bytes) -> Any:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _Problem(400, "invalid_json", "the body is not JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        raise _Problem(
            422, RobotError.INVALID_REQUEST, "the body does not match", errors=errors
        ) from None


class _Handler(BaseHTTPRequestHandler):
    owner: RobotServer
    protocol_version = "HTTP/1.1"
    server_version = "KonbiniRigKiosk/1.0"
    # headers and body leave in two writes: without this, delayed ACKs cost ~40 ms an answer
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the kiosk's audit log records what matters

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        try:
            body = self._body(method)
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            result = self.owner.handle(method, parts.path, query, body)
            payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
            self._send(200, payload, "application/json")
        except _Problem as p:
            self._problem(p)
        except RobotActionError as exc:
            self._problem(_Problem(exc.status, exc.code, exc.detail))
        except (EngineStopped, FutureTimeout):
            self._problem(_Problem(503, RobotError.KIOSK_UNAVAILABLE, "the kiosk did not answer"))
        except Exception as exc:
            self._problem(_Problem(500, "internal_error", type(exc).__name__))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed request lines and unknown methods: a problem document, then close."""
        self.close_connection = True
        self._problem(_Problem(code, f"http_{code}", message or HTTPStatus(code).phrase))

    def _body(self, method: str) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise _Problem(501, "transfer_encoding_unsupported", "send Content-Length")
        raw = self.headers.get("Content-Length")
        if method != "POST":
            # a body nobody asked for is still read, or it would be taken for the next request
            if raw is not None and raw.isdigit() and int(raw) <= MAX_BODY:
                self.rfile.read(int(raw))
            elif raw is not None:
                self.close_connection = True
            return b""
        if raw is None or not raw.isdigit():
            self.close_connection = True
            raise _Problem(411, "length_required", "Content-Length is required")
        length = int(raw)
        if length > MAX_BODY:
            self.close_connection = True
            raise _Problem(413, "body_too_large", f"at most {MAX_BODY} bytes")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            raise _Problem(400, "truncated_body", "the body ended early")
        if ctype != "application/json":
            raise _Problem(415, "unsupported_media_type", "send application/json")
        return body

    def _problem(self, p: _Problem) -> None:
        self.owner.record("problem", status=p.status, code=str(p.code))
        doc = {
            "type": PROBLEM_TYPE + str(p.code),
            "title": HTTPStatus(p.status).phrase,
            "status": p.status,
            "code": str(p.code),
            "detail": p.detail,
            **p.extra,
        }
        self._send(p.status, doc, "application/problem+json")

    def _send(self, status: int, payload: Any, ctype: str) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

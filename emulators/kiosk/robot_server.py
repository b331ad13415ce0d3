"""The robot protocol's HTTP server (rig.core.protocols.robot), on 127.0.0.1 unless told otherwise.

Plain HTTP/1.1 and JSON on the rig's transport core (rig.core.transport), like a vendor's kiosk
adapter would serve on its own kiosk. Every error is an RFC 9457 problem document with a
stable `code`; a bad request never reaches the kiosk's flow, and a stalled client only costs
its own connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ValidationError

from emulators.kiosk.engine import EngineStopped, KioskEngine
from emulators.kiosk.flow import RobotActionError
from rig.core import transport
from rig.core.evidence import EvidenceStore
from rig.core.netaddr import DEFAULT_LISTEN
from rig.core.protocols.robot import (
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


CHANNEL = "kiosk-robot"
#: A route's action: (query, body) → a pydantic model or JSON-able value.
Action = Callable[[dict[str, str], bytes], Any]


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
        self.evidence = evidence
        self._router = transport.Router()
        self.add_routes(self.routes())
        self.server = transport.HttpServer(
            self._router,
            name=CHANNEL,
            host=host,
            port=port,
            limits=transport.Limits(max_body=MAX_BODY, io_timeout=IO_TIMEOUT_S),
            errors=_core_error,
            evidence=evidence,
            server_header="KonbiniRigKiosk/1.0",
            headers={"Cache-Control": "no-store"},
        )

    @property
    def url(self) -> str:
        return self.server.url + BASE_PATH

    def start(self) -> str:
        self.server.start()
        return self.url

    def stop(self) -> None:
        self.server.stop()

    # -- routes ----------------------------------------------------------------------------
    def routes(self) -> dict[tuple[str, str], Action]:
        """(method, path under BASE_PATH) → action: the protocol's whole route table."""
        return {
            ("GET", "/info"): lambda q, b: self.info(),
            ("GET", "/screen"): self._screen,
            ("GET", "/history"): self._history,
            ("POST", "/tap"): self._tap,
            ("POST", "/keys"): self._keys,
            ("GET", "/held"): lambda q, b: self.engine.call(lambda flow: flow.held()),
            ("POST", "/reset"): self._reset,
        }

    def add_routes(self, routes: dict[tuple[str, str], Action]) -> None:
        """Serve routes ((method, path under BASE_PATH) → action), the protocol's own or optional
        ones, before or after the server started (test_mode.py adds the extensions' routes)."""
        for (method, sub), action in routes.items():
            self._router.add(method, BASE_PATH + sub, self._endpoint(method, action))

    def _endpoint(self, method: str, action: Action) -> transport.Handler:
        def run(request: transport.Request) -> transport.Response:
            try:
                if method == "POST":
                    _check_post(request)
                # blank values count as absent, as they always have
                query = {k: v[-1] for k, v in parse_qs(urlsplit(request.target).query).items()}
                result = action(query, request.body)
                payload = (
                    result.model_dump(mode="json") if isinstance(result, BaseModel) else result
                )
                return _json(200, payload, "application/json")
            except RobotActionError as exc:
                return _problem(exc)
            except (EngineStopped, FutureTimeout):
                return _problem(
                    RobotActionError(RobotError.KIOSK_UNAVAILABLE, "the kiosk did not answer", 503)
                )

        return run

    def _reset(self, query: dict[str, str], body: bytes) -> Any:
        if self.on_reset is None:
            raise RobotActionError("not_found", "this kiosk cannot be reset", 404)
        try:
            return self.on_reset()
        except (OSError, ValueError, RuntimeError, TimeoutError) as exc:
            # a device the kiosk could not open again: the rig's parties are not up
            raise RobotActionError(
                RobotError.KIOSK_UNAVAILABLE, f"devices not ready: {exc}", 503
            ) from None

    def _screen(self, query: dict[str, str], body: bytes) -> Any:
        after = _int(query, "after", -1)
        wait = _float(query, "wait", 0.0)
        if not 0 <= wait <= MAX_WAIT_S:
            raise _invalid(f"wait must be 0..{MAX_WAIT_S}")
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
        raise _invalid(f"{name} must be an integer") from None


def _float(query: dict[str, str], name: str, default: float) -> float:
    try:
        value = float(query[name]) if name in query else default
        if value != value:  # NaN
            raise ValueError(name)
    except ValueError:
        raise _invalid(f"{name} must be a number") from None
    return value


def _invalid(detail: str) -> RobotActionError:
    return RobotActionError(RobotError.INVALID_REQUEST, detail, 422)


def _model(model: type[BaseModel], body: bytes) -> Any:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RobotActionError("invalid_json", "the body is not JSON", 400) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        raise RobotActionError(
            RobotError.INVALID_REQUEST, "the body does not match", 422, errors=errors
        ) from None


def _check_post(request: transport.Request) -> None:
    if "transfer-encoding" in request.headers:
        raise RobotActionError("transfer_encoding_unsupported", "send Content-Length", 501)
    if "content-length" not in request.headers:
        raise RobotActionError("length_required", "Content-Length is required", 411)
    if request.content_type != "application/json":
        raise RobotActionError("unsupported_media_type", "send application/json", 415)


def _core_error(error: transport.HttpError, path: str | None) -> transport.Response:
    """The core's refusals (404, 405, 413, malformed HTTP) as this protocol's problems."""
    code = {"bad_request": "http_400", "not_implemented": "http_501"}.get(error.code, error.code)
    response = _problem(
        RobotActionError(code, error.detail or error.title, error.status, **error.extra)
    )
    response.headers.update(error.headers)
    return response


def _problem(p: RobotActionError) -> transport.Response:
    try:
        title = HTTPStatus(p.status).phrase
    except ValueError:
        title = "Error"
    doc = {
        "type": PROBLEM_TYPE + str(p.code),
        "title": title,
        "status": p.status,
        "code": str(p.code),
        "detail": p.detail,
        **p.extra,
    }
    response = _json(p.status, doc, "application/problem+json")
    response.code = str(p.code)
    return response


def _json(status: int, payload: Any, content_type: str) -> transport.Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return transport.Response(status, body, content_type)

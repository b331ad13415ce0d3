"""The rig's HTTPS JSON parties (the centre's kiosk API, the municipal LGWAN API) on the
transport core (rig.core.transport), and the client helper that talks to them.

- binds `host` (127.0.0.1 by default; port 0 = any free port);
- TLS 1.2 or newer only; a client certificate is required and verified against the given
  CA(s); the peer certificate is handed to every handler (`Request.peer_cert`);
- limits, keep-alive, deadline and watchdog are the core's (docs/transport.md);
- every error is an RFC 9457 problem document (`application/problem+json`) with a stable
  `code` member; an unexpected exception in a handler becomes a 500 problem, never a crash.

The client side (`https_client`) is an `httpx.Client` presenting a client certificate and
trusting only the rig's server CA.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
from cryptography import x509
from pydantic import BaseModel, ValidationError

from rig.core import transport
from rig.core.evidence import EvidenceStore
from rig.core.model_errors import validated
from rig.core.netaddr import DEFAULT_LISTEN
from rig.core.pki.tls import CertPair
from rig.core.protocols.reasons import ReasonCode

PROBLEM_CONTENT_TYPE = "application/problem+json"
JSON_CONTENT_TYPE = "application/json"
#: Problem `type` URIs are this prefix plus the problem's code.
PROBLEM_TYPE_BASE = "urn:konbini-rig:problem:"
DEFAULT_MAX_BODY = 1 << 20
_DRAIN_FACTOR = 8
_Model = TypeVar("_Model", bound=BaseModel)
_Code = TypeVar("_Code", bound=ReasonCode)
#: The core's refusals under the codes these APIs have always answered with.
_CORE_CODES = {
    "bad_request": "http_400",
    "uri_too_long": "http_414",
    "headers_too_large": "http_431",
    "not_implemented": "http_501",
    "http_version_not_supported": "http_505",
}
_TITLES = {
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "body_too_large": "Request body too large",
    "invalid_chunked_body": "Invalid chunked body",
    "invalid_content_length": "Invalid Content-Length",
    "truncated_body": "Truncated body",
    "internal_error": "Internal server error",
}


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


class Refused(Exception, Generic[_Code]):
    """A party's refusal under one of its `ReasonCode`s, raised inside its model; its API
    answers with `problem()`: the reason's status, code, title and `message_ja`, a `source`
    member when the class names one, and `Retry-After` (the given seconds, else 600 on a 503)."""

    #: who refused, as the problem's `source` member (None: no such member)
    source: str | None = None

    def __init__(
        self,
        code: _Code,
        detail: str | None = None,
        *,
        retry_after: int | None = None,
        **extensions: Any,
    ):
        super().__init__(f"{code.code}: {detail or code.value.title}")
        self.code = code
        self.detail = detail
        self.retry_after = retry_after
        self.extensions = extensions

    def problem(self) -> Problem:
        reason = self.code.value
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(max(1, self.retry_after))
        elif reason.status == 503:
            headers["Retry-After"] = "600"
        source = {} if self.source is None else {"source": self.source}
        return Problem(
            reason.status,
            self.code.code,
            reason.title,
            self.detail,
            headers=headers,
            message_ja=reason.message_ja,
            **source,
            **self.extensions,
        )


@dataclass(frozen=True)
class Request(transport.Request):
    """One HTTP request as a handler sees it, with JSON helpers; these servers require a
    client certificate, so `peer_cert` is always there."""

    peer_cert: x509.Certificate

    def json(self) -> Any:
        """The body as JSON; a `Problem` (400/415) when it is not JSON."""
        ctype = self.content_type
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

    def parsed(
        self, model: type[_Model], invalid: Callable[[list[dict[str, Any]]], Exception]
    ) -> _Model:
        """The JSON object body as `model`; when it does not fit, `invalid(errors)` is raised,
        each error naming a failing field and why (never the value sent)."""
        try:
            return model.model_validate(self.json_object())
        except ValidationError as exc:
            errors = [
                {"loc": [str(x) for x in e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_input=False, include_url=False, include_context=False)
            ]
            raise invalid(errors) from None


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

    def wire(self) -> transport.Response:
        code = None
        if self.content_type == PROBLEM_CONTENT_TYPE and isinstance(self.json, dict):
            code = self.json.get("code")
        return transport.Response(
            status=self.status,
            body=self.encode(),
            content_type=self.content_type,
            headers=self.headers,
            close=self.status == 413,
            code=code,
        )


Handler = Callable[[Request], "Response | dict[str, Any] | list[Any]"]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler


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


def answer_object(
    answer: httpx.Response, error: Callable[[str], Exception], wanted: str = "a JSON object"
) -> dict[str, Any]:
    """A success answer's body as a JSON object; `error(detail)` when it is not one, the detail
    naming the call (`unreadable answer`) and what was `wanted`, never the body (it may hold
    personal data)."""
    try:
        data = answer.json()
    except ValueError:
        raise error(f"{_unreadable(answer)}: a body that is not JSON") from None
    if not isinstance(data, dict):
        raise error(f"{_unreadable(answer)}: not {wanted}")
    return data


def answer_as(
    answer: httpx.Response, model: type[_Model], error: Callable[[str], Exception]
) -> _Model:
    """A success answer's JSON object as `model`; `error(detail)` names the call and, for a
    wrong shape, each member at fault and why (never its value: model_errors.describe)."""
    wanted = f"a {model.__name__}"
    data = answer_object(answer, error, wanted)
    return validated(model, data, f"{_unreadable(answer)}: not {wanted}", error)


def _unreadable(answer: httpx.Response) -> str:
    call = f"{answer.request.method} {answer.request.url.path}"
    return f"{call} answered {answer.status_code} with an unreadable answer"


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    return Response(
        status=problem.status,
        json=problem.document(instance),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=problem.headers,
    )


def problem_error(error: transport.HttpError, instance: str | None) -> transport.Response:
    """The core's refusals (404, 405, 413, malformed HTTP...) as problem documents."""
    code = _CORE_CODES.get(error.code, error.code)
    title = _TITLES.get(code, error.title)
    problem = Problem(error.status, code, title, error.detail, headers=error.headers, **error.extra)
    return problem_response(problem, instance).wire()


def _json_handler(handler: Handler) -> transport.Handler:
    def run(request: transport.Request) -> transport.Response:
        assert isinstance(request, Request)
        try:
            result = handler(request)
        except Problem as problem:
            return problem_response(problem, request.path).wire()
        return (result if isinstance(result, Response) else Response(json=result)).wire()

    return run


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
        self.router = transport.Router()
        self.limits = transport.Limits(
            max_body=max_body,
            drain_limit=_DRAIN_FACTOR * max_body,
            io_timeout=io_timeout,
            request_deadline=connection_deadline,
            keepalive_timeout=keepalive_timeout,
        )
        self.server = transport.HttpServer(
            self.router,
            name=name,
            tls=server_ssl_context(certificate, client_cas),
            host=host,
            port=port,
            limits=self.limits,
            errors=problem_error,
            evidence=evidence,
            request_type=Request,
            headers={"Cache-Control": "no-store"},
        )
        for route in routes:
            self.add_route(route.method, route.pattern, route.handler)

    @property
    def evidence(self) -> EvidenceStore | None:
        return self.server.evidence

    def add_route(self, method: str, pattern: str, handler: Handler) -> None:
        self.router.add(method, pattern, _json_handler(handler))

    def route_table(self) -> list[tuple[str, str]]:
        """(method, pattern) of every route, for checks against an OpenAPI document."""
        return self.router.table()

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> str:
        return self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> JsonHttpsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

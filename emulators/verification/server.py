"""The verification site's HTTP server: the page, /api/verify and /api/compare.

Plain HTTP on 127.0.0.1 on the rig's transport core (rig.core.transport). A deployment puts it
behind the operator's TLS front end; the rig runs it locally for kiosk vendors and tests.

Limits, each answered with its problem code (docs/verification-site.md):

- a body over `max_upload` bytes is refused before it is read (`upload_too_large`, 413);
- every socket read has `io_timeout` seconds (a body that stops arriving: `request_timeout`,
  408), and the core's watchdog closes any request older than `connection_deadline`: a slow
  or silent client holds one thread for a bounded time;
- at most `workers` decodes run at once (each takes a few hundred ms and about 100 MB);
  a request that waits longer than `busy_timeout` gets `busy` (503, Retry-After).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from emulators.verification.images import decode_upload
from emulators.verification.keys import KeyRing
from emulators.verification.problems import CATALOGUE, PROBLEM_CONTENT_TYPE, Problem
from emulators.verification.service import (
    check_document_id,
    compare_front,
    comparison_json,
    verification_json,
    verify_back,
)
from emulators.verification.uploads import Upload, parse_upload
from rig.core import transport
from rig.core.evidence import EvidenceStore
from rig.core.transport import HttpError, Request, Response

#: Largest accepted request body. A 300 dpi gray PNG of a noisy scan is about 7 MB, a
#: 600 dpi colour JPEG 5–15 MB.
DEFAULT_MAX_UPLOAD = 25 << 20
#: An oversized body no larger than this is read and discarded before the 413, so that a
#: client still writing its body reads the answer instead of a reset connection.
DRAIN_LIMIT = 64 << 20
#: Request line and headers together (a longer request line is `uri_too_long`).
MAX_HEAD = 64 << 10
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


def json_reply(document: Any, status: int = 200) -> Response:
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return Response(status, body, "application/json; charset=utf-8")


def problem_reply(
    problem: Problem, instance: str | None, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(problem.document(instance), ensure_ascii=False).encode("utf-8")
    fields = dict(headers or {})
    if problem.code == "busy":
        fields["Retry-After"] = "5"
    return Response(problem.status, body, PROBLEM_CONTENT_TYPE, fields, code=problem.code)


#: The transport core's refusals under this site's codes (problems.CATALOGUE).
_CORE_CODES = {
    "body_too_large": "upload_too_large",
    "invalid_chunked_body": "bad_multipart",
    "invalid_content_length": "length_required",
    "truncated_body": "request_timeout",
    "transfer_encoding_unsupported": "not_implemented",
}


def core_error(error: HttpError, instance: str | None) -> Response:
    code = _CORE_CODES.get(error.code, error.code)
    if code not in CATALOGUE:
        code = "bad_request" if error.status < 500 else "internal_error"
    extra = {"max_upload": error.extra["limit"]} if code == "upload_too_large" else {}
    return problem_reply(Problem(code, error.detail, **extra), instance, error.headers)


def _answering(action: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """The route `action`, answering a `Problem` raised under it with its document."""

    def route(request: Request) -> Response:
        try:
            return action(request)
        except Problem as problem:
            return problem_reply(problem, request.path)

    return route


def page_html(max_upload: int = DEFAULT_MAX_UPLOAD) -> bytes:
    """The page (UTF-8, self-contained), with the upload limit filled in."""
    page = (resources.files("emulators.verification") / "index.html").read_bytes()
    megabytes = f"{max_upload / (1 << 20):g}".encode()
    return page.replace(b"__MAX_UPLOAD_MB__", megabytes)


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
        self.limits = limits or Limits()
        self.evidence = evidence
        self.name = name
        self._decoders = threading.BoundedSemaphore(self.limits.workers)
        self._page = page_html(self.limits.max_upload)
        router = transport.Router()
        router.add("GET", "/", self._index)
        router.add("GET", "/index.html", self._index)
        router.add("GET", "/healthz", self._health)
        router.add(
            "POST", "/api/verify", _answering(lambda r: self._check_upload(r, compare=False))
        )
        router.add(
            "POST", "/api/compare", _answering(lambda r: self._check_upload(r, compare=True))
        )
        self.server = transport.HttpServer(
            router,
            name=name,
            port=port,
            limits=transport.Limits(
                max_body=self.limits.max_upload,
                max_head=MAX_HEAD,
                drain_limit=DRAIN_LIMIT,
                io_timeout=self.limits.io_timeout,
                request_deadline=self.limits.connection_deadline,
            ),
            errors=core_error,
            evidence=evidence,
            server_header="konbini-rig-verification",
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )

    # -- life cycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> str:
        url = self.server.start()
        if self.evidence is not None:
            self.evidence.record(self.name, "keys", keys=[k for k, _ in self.keys])
        return url

    def stop(self) -> None:
        self.server.stop()

    # -- routes ----------------------------------------------------------------------------
    def _index(self, request: Request) -> Response:
        return Response(
            200, self._page, "text/html; charset=utf-8", {"Content-Security-Policy": PAGE_CSP}
        )

    def _health(self, request: Request) -> Response:
        return json_reply({"status": "ok", "keys": len(self.keys)})

    def _upload(self, request: Request) -> Upload:
        framed = "content-length" in request.headers or "transfer-encoding" in request.headers
        if not framed:
            raise Problem("length_required", "send Content-Length or chunked encoding")
        if len(request.query) > 8:
            raise Problem("bad_request", "too many query fields")
        return parse_upload(request.headers.get("content-type"), request.body, request.query)

    @contextlib.contextmanager
    def _decode_slot(self) -> Iterator[None]:
        """One of the limited decode slots, or `busy` after waiting `busy_timeout` seconds."""
        if not self._decoders.acquire(timeout=self.limits.busy_timeout):
            raise Problem("busy", "all decode slots are in use")
        try:
            yield
        finally:
            self._decoders.release()

    def _check_upload(self, request: Request, *, compare: bool) -> Response:
        """Verify the back (`file` or `back`); with `compare`, also compare the `front`
        scan with the front the back carries."""
        upload = self._upload(request)
        document_id = check_document_id(upload.fields.get("document_id"))
        back_part = upload.file("back") if compare else upload.file("file", "back")
        front_part = upload.file("front") if compare else None
        with self._decode_slot():
            back = decode_upload(back_part.data)
            found = verify_back(back, self.keys, document_id)
            front = decode_upload(front_part.data) if front_part is not None else None
            document = verification_json(found)
            if front is not None:
                document["comparison"] = comparison_json(compare_front(front, found.reading))
            reply = json_reply(document)
        reply.evidence["format"] = back.format
        return reply

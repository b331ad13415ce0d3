"""What a route handler sees and returns: requests, answers, errors and deliberate faults."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID


class Headers(Mapping[str, str]):
    """Request headers, case-insensitive; `get` answers the first of repeated fields."""

    __slots__ = ("_first",)

    def __init__(self, fields: list[tuple[bytes, bytes]]):
        first: dict[str, str] = {}
        for name, value in fields:
            first.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        self._first = first

    def __getitem__(self, name: str) -> str:
        return self._first[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)


@dataclass(frozen=True)
class Request:
    """One HTTP request as a handler sees it; `peer_cert` is None without TLS client auth."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: Headers
    body: bytes
    peer_cert: x509.Certificate | None
    #: the raw request target (path and query, still percent-encoded)
    target: str = ""

    @property
    def peer_common_name(self) -> str:
        return common_name(self.peer_cert)

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case ("" when absent)."""
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()


def common_name(cert: x509.Certificate | None) -> str:
    if cert is None:
        return ""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


@dataclass
class Response:
    """A handler's answer. `close` ends the connection after it; `delay` holds it back
    (a deliberately slow party); `code` names an error for the evidence; `evidence` adds
    fields to the exchange's evidence record."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False
    delay: float = 0.0
    code: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


class Misbehaviour(StrEnum):
    """What a deliberately broken party does instead of answering."""

    DROP = "drop"  # close the connection without a byte of answer (a printer gone offline)
    RESET = "reset"  # abort the connection with a TCP reset
    GARBAGE = "garbage"  # send bytes that are not HTTP, then close
    TRUNCATE = "truncate"  # send the head and part of the body, then close


@dataclass(frozen=True)
class Fault:
    """Returned by a handler instead of a `Response`: misbehave on the wire, on purpose.
    `answer` is the response a TRUNCATE cuts short; `payload` the bytes GARBAGE sends."""

    kind: Misbehaviour
    delay: float = 0.0
    payload: bytes = b"\x00\xffNOT HTTP\r\n\r\n"
    answer: Response | None = None


class HttpError(Exception):
    """An error answer: raised by the core (404, 405, 413...) or by a handler. The party's
    `ErrorFormat` turns it into its own error document; `code` is stable and `extra` holds
    members such as the limit that was exceeded."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        close: bool = False,
        **extra: Any,
    ):
        super().__init__(f"{status} {code}: {detail or ''}")
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        self.close = close
        self.extra = extra

    @property
    def title(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"


#: How a party writes an error: (the error, the request path or None) → the answer.
ErrorFormat = Callable[[HttpError, "str | None"], Response]


def plain_error(error: HttpError, path: str | None) -> Response:
    """The default error format: one line of text."""
    text = f"{error.status} {error.title}: {error.detail or error.code}\n"
    return Response(
        status=error.status,
        body=text.encode("utf-8"),
        content_type="text/plain; charset=utf-8",
        headers=dict(error.headers),
        code=error.code,
    )

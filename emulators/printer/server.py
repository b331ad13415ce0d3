"""IPP over HTTP/1.1 (RFC 8010 section 4) on loopback: POST application/ipp to /ipp/<printer>.

Served by the rig's transport core (rig.core.transport). Bodies come with Content-Length or
chunked (ipptool sends chunked); both are capped, and every socket read has a time-out, so
no client can hold a worker forever or make the printer buffer without limit. An offline
printer accepts the connection and closes it without an answer, which is what a kiosk sees
when a real printer drops off the network.
"""

from __future__ import annotations

import io
import zlib

from emulators.printer.ipp_service import MAX_DOCUMENT_BYTES, IppService
from rig.core import transport
from rig.core.evidence import EvidenceStore

MAX_REQUEST_BYTES = MAX_DOCUMENT_BYTES + 1024 * 1024


def _icon() -> bytes:
    """printer-icons: a plain 128x128 gray square (IPP Everywhere asks for one)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (128, 128), 200).save(out, format="PNG")
    return out.getvalue()


ICON_PNG = _icon()
SOCKET_TIMEOUT_S = 10.0


def _text(status: int, text: str) -> transport.Response:
    # an error ends the connection, as it always has: a kiosk reconnects for its next job
    return transport.Response(
        status, text.encode(), "text/plain; charset=utf-8", close=status >= 400
    )


def _error(error: transport.HttpError, path: str | None) -> transport.Response:
    response = _text(error.status, error.detail or error.title)
    response.headers.update(error.headers)
    response.code = error.code
    return response


def _inflate(body: bytes, encoding: str) -> bytes:
    """The request body without its Content-Encoding; an HttpError the transport answers."""
    if encoding in ("identity", ""):
        return body
    if encoding not in ("gzip", "deflate"):
        raise transport.HttpError(
            415, "unsupported_encoding", f"Content-Encoding {encoding} not supported"
        )
    try:
        inflater = zlib.decompressobj(31 if encoding == "gzip" else 15)
        body = inflater.decompress(body, MAX_REQUEST_BYTES + 1)
    except zlib.error as exc:
        raise transport.HttpError(400, "bad_encoding", f"bad {encoding} body") from exc
    if len(body) > MAX_REQUEST_BYTES:
        raise transport.HttpError(413, "body_too_large", "request too large")
    return body


class IppHttpServer:
    """Both printers' IPP endpoints on one port, on the rig's transport core."""

    def __init__(
        self,
        port: int,
        service: IppService,
        evidence: EvidenceStore | None = None,
        host: str = "127.0.0.1",
    ):
        self.service = service
        router = transport.Router()
        router.add("POST", "/{resource:path}", self._post)
        router.add("GET", "/{resource:path}", self._get)
        self.server = transport.HttpServer(
            router,
            name="printer-http",
            host=host,
            port=port,
            limits=transport.Limits(max_body=MAX_REQUEST_BYTES, io_timeout=SOCKET_TIMEOUT_S),
            errors=_error,
            evidence=evidence,
            server_header="KonbiniRigIPP/1.0",
        )

    def _offline(self, path: str) -> bool:
        device = self.service.device_for(path)
        return device is not None and device.offline

    def _post(self, request: transport.Request) -> transport.Response | transport.Fault:
        if self._offline(request.path):
            # what a kiosk sees when a real printer drops off the network
            return transport.Fault(transport.Misbehaviour.DROP)
        if request.content_type != "application/ipp":
            return _text(400, "Content-Type must be application/ipp")
        if "content-length" not in request.headers and "transfer-encoding" not in request.headers:
            return _text(411, "Content-Length or chunked encoding required")
        encoding = (request.headers.get("content-encoding") or "identity").strip().lower()
        answer = self.service.handle(_inflate(request.body, encoding), request.path)
        return transport.Response(200, answer, "application/ipp")

    def _get(self, request: transport.Request) -> transport.Response | transport.Fault:
        if self._offline(request.path):
            return transport.Fault(transport.Misbehaviour.DROP)
        if request.path == "/icon.png":
            return transport.Response(200, ICON_PNG, "image/png")
        device = self.service.device_for(request.path)
        if device is None:
            return _text(404, "no such printer")
        return _text(
            200,
            f"{device.profile.make_and_model}\nstate: {device.state().name.lower()}\n"
            f"reasons: {', '.join(device.state_reasons())}\n",
        )

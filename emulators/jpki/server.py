"""OCSP over HTTP (RFC 6960 appendix A): POST of the DER request, or GET with it in the URL.

Served by the rig's transport core (rig.core.transport). The listening socket follows the fault
plan on the rig clock: during a `down` window it is closed, so clients get "connection
refused" exactly as from a dead responder; a `slow` window holds every answer back.
"""

from __future__ import annotations

from emulators.jpki.faults import OcspFault, OcspFaultPlan
from emulators.jpki.model import OcspResponder
from rig.core import transport
from rig.core.evidence import EvidenceStore
from rig.core.party import PartyHealth, served_health
from rig.core.protocols.ocsp import RESPONSE_CONTENT_TYPE, request_from_get_path

#: Larger requests are refused with 413: a real request for one certificate is ~100 bytes.
MAX_REQUEST = 16 * 1024
SOCKET_TIMEOUT = 5.0
PATH = "/ocsp"


def _text(status: int, why: str) -> transport.Response:
    return transport.Response(status, why.encode(), "text/plain; charset=utf-8", close=True)


def _error(error: transport.HttpError, path: str | None) -> transport.Response:
    detail = {
        404: f"OCSP is served at {PATH} (POST) and {PATH}/<base64 request> (GET)",
        413: f"at most {MAX_REQUEST} bytes",
    }.get(error.status, error.detail or error.title)
    response = _text(error.status, detail)
    response.headers.update(error.headers)
    response.code = error.code
    return response


class OcspServer:
    """Serves an `OcspResponder` on 127.0.0.1; `start()` returns {'ocsp_url': ...}."""

    def __init__(
        self,
        responder: OcspResponder,
        host: str = "127.0.0.1",
        port: int = 0,
        evidence: EvidenceStore | None = None,
    ):
        self.responder = responder
        self.host = host
        router = transport.Router()
        router.add("POST", PATH, self._post)
        router.add("POST", PATH + "/", self._post)
        router.add("GET", PATH + "/{request:path}", self._get)
        self.server = transport.HttpServer(
            router,
            name="ocsp-http",
            host=host,
            port=port,
            limits=transport.Limits(
                max_body=MAX_REQUEST,
                # a GET carries the request base64-encoded in its URL
                max_head=4 * MAX_REQUEST + 4096,
                io_timeout=SOCKET_TIMEOUT,
            ),
            errors=_error,
            evidence=evidence if evidence is not None else responder.evidence,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server.port}{PATH}"

    def start(self) -> dict[str, str]:
        self.server.start()
        self.follow_fault_plan()
        return {"ocsp_url": self.url}

    def stop(self) -> None:
        self.server.stop()

    def health(self) -> PartyHealth:
        return served_health(self.server)

    @property
    def faults(self) -> OcspFaultPlan:
        """The responder's fault plan (slow, down, unauthorized windows on the rig clock)."""
        return self.responder.faults

    # -- the listening socket follows the `down` windows --------------------------------
    def follow_fault_plan(self) -> None:
        """Schedule listener close/reopen on the rig clock for every `down` window."""
        clock = self.responder.clock
        for window in self.responder.faults.windows():
            if window.fault is OcspFault.DOWN and window.end > clock.now():
                clock.call_at(window.start, self.server.pause)
                clock.call_at(window.end, self.server.resume)

    # -- routes --------------------------------------------------------------------------
    def _answer(self, request_der: bytes) -> transport.Response:
        faults = self.responder.faults
        slow = faults.active(self.responder.clock.now()) is OcspFault.SLOW
        # one answer per connection: a client that pooled the connection could otherwise send
        # its next request just as the idle time-out closes it (a reset under load)
        return transport.Response(
            200,
            self.responder.respond(request_der),
            RESPONSE_CONTENT_TYPE,
            close=True,
            delay=faults.slow_seconds if slow else 0.0,
        )

    def _post(self, request: transport.Request) -> transport.Response:
        if "transfer-encoding" in request.headers:
            return _text(411, "send Content-Length")
        if "content-length" not in request.headers:
            return _text(411, "Content-Length missing or invalid")
        return self._answer(request.body)

    def _get(self, request: transport.Request) -> transport.Response:
        tail = request.target.split("?", 1)[0][len(PATH) + 1 :]
        if len(tail) > 4 * MAX_REQUEST:
            return _text(414, "request too long")
        try:
            der = request_from_get_path(tail)
        except ValueError:
            der = b""  # answered as malformedRequest by the responder
        return self._answer(der)

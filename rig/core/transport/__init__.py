"""One HTTP/1.1 transport core for every HTTP party of the rig (h11 underneath).

Each party (the centre's kiosk API, the municipal LGWAN API, the verification site, the
printer's IPP endpoint, the kiosk's robot protocol, the OCSP responder) keeps a thin route
table and its own error format; the core does the rest once: optional TLS with client
certificates, header and body limits, chunked bodies, keep-alive, per-request deadline and
watchdog, evidence of every exchange before its answer leaves, and deliberate misbehaviour
for fault injection. See docs/transport.md.
"""

from rig.core.transport.messages import (
    ErrorFormat,
    Fault,
    Headers,
    HttpError,
    Misbehaviour,
    Request,
    Response,
    plain_error,
)
from rig.core.transport.routes import Handler, Route, Router
from rig.core.transport.server import HttpServer, Limits

__all__ = [
    "ErrorFormat",
    "Fault",
    "Handler",
    "Headers",
    "HttpError",
    "HttpServer",
    "Limits",
    "Misbehaviour",
    "Request",
    "Response",
    "Route",
    "Router",
    "plain_error",
]

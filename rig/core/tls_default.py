"""One default TLS client context per process, for the rig's HTTP clients that trust the
usual public CAs (the robot client, the centre's OCSP client: plain HTTP on the rig's own
worlds, HTTPS only towards a vendor's device).

httpx builds a new context for every `httpx.Client()` it is given no context for, loading
certifi's whole CA bundle each time (30–50 ms); a world makes two such clients, and a worker
session hundreds of worlds. The context is the one httpx would build (`create_ssl_context()`:
certificate and host name checks on) and is only read once made, so sharing it changes no
check. Clients that present a client certificate or trust the rig's own CA keep their own.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def default_client_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()

"""The interface version on the LGWAN API (centre ↔ municipal issuance server).

The seed asks a municipality to build its issuance server, and to rebuild one built earlier,
to the latest specification J-LIS publishes (seed II.3 (5)). The rig makes that checkable: the
centre announces the interface version it speaks in a request header on every call, and a
conforming server states the version it answers in the same header. A server answers a
request that announces an older or an unknown version with the problem document
`api_version_unsupported` (HTTP 400) naming the versions it supports; a request without the
header is taken as the current version. docs/api/municipal.openapi.yaml documents both.
"""

from __future__ import annotations

import re

#: The request and response header that carries the interface version.
API_VERSION_HEADER = "LGWAN-API-Version"
#: The version the rig's centre speaks: the latest specification.
CURRENT_VERSION = "1.1"
#: Versions a conforming server accepts (only the latest).
SUPPORTED_VERSIONS: tuple[str, ...] = (CURRENT_VERSION,)
#: Earlier versions of the interface; a conforming server refuses them.
RETIRED_VERSIONS: tuple[str, ...] = ("1.0",)
#: The problem code (and HTTP status) of a refused version.
VERSION_PROBLEM_CODE = "api_version_unsupported"
VERSION_PROBLEM_STATUS = 400

_VERSION = re.compile(r"^[0-9]{1,3}\.[0-9]{1,3}$")


def version_problem(announced: str | None) -> str | None:
    """Why a request announcing `announced` must be refused, or None when it is served."""
    if announced is None:
        return None
    value = announced.strip()
    if value in SUPPORTED_VERSIONS:
        return None
    if value in RETIRED_VERSIONS:
        return f"version {value} is retired; speak {CURRENT_VERSION}"
    if not _VERSION.match(value):
        return f"{value[:20]!r} is not a version (MAJOR.MINOR)"
    return f"version {value} is unknown; speak {CURRENT_VERSION}"


__all__ = [
    "API_VERSION_HEADER",
    "CURRENT_VERSION",
    "RETIRED_VERSIONS",
    "SUPPORTED_VERSIONS",
    "VERSION_PROBLEM_CODE",
    "VERSION_PROBLEM_STATUS",
    "version_problem",
]

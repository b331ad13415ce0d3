"""The centre's link to municipal issuance servers (証明発行サーバ) over "LGWAN".

HTTPS with the centre's LGPKI-style client certificate, trusting only the rig's server CA,
one pooled client per municipal endpoint. Routing is by municipality code:
`endpoints[code]` is that municipality's API root (…/v1/municipalities/<code>).

Failures become specific centre errors: an `lgwan-outage` incident on the rig clock →
503 `lgwan_unavailable` (nothing is sent); connection refused/reset → 502
`municipality_unreachable`; time-out → 504 `municipality_timeout`; a municipal 5xx that is
not a refusal, or an answer that is not JSON → 502 `municipality_error`; a municipal problem
document (4xx, or 503 for its own hours) → relayed as `MunicipalRefusal`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from emulators.centre.errors import CentreError, MunicipalRefusal
from emulators.centre.notices import NoticeBoard, NoticeKind
from rig.core.calendar import IncidentKind, IncidentSchedule
from rig.core.evidence import EvidenceStore
from rig.core.https import PROBLEM_CONTENT_TYPE, client_ssl_context
from rig.core.pki.tls import CertPair
from rig.core.protocols.centre import CentreCode
from rig.core.protocols.lgwan import API_VERSION_HEADER, CURRENT_VERSION

_MUNICIPAL_CODE_LENGTH = 6
#: A municipal 503 with one of these codes is a fault, not its own service hours.
_FAULT_CODES = frozenset({"service_unavailable"})


class MunicipalLink:
    def __init__(
        self,
        endpoints: Mapping[str, str],
        client_cert: CertPair,
        server_ca: Any,
        now: Callable[[], datetime],
        incidents: IncidentSchedule,
        monitor: NoticeBoard,
        *,
        timeout: float = 30.0,
        evidence: EvidenceStore | None = None,
    ):
        # a launcher may hand the municipal server's whole URL map ("base" included)
        self.endpoints = {
            code: url.rstrip("/")
            for code, url in endpoints.items()
            if len(code) == _MUNICIPAL_CODE_LENGTH and code.isdigit()
        }
        self.now = now
        self.incidents = incidents
        self.evidence = evidence
        self.monitor = monitor
        self._context = client_ssl_context(client_cert, server_ca)
        self._timeout = timeout
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def _client(self, code: str) -> httpx.Client:
        with self._lock:
            client = self._clients.get(code)
            if client is None:
                client = httpx.Client(
                    base_url=self.endpoints[code],
                    # the interface version this centre speaks, on every call (seed II.3 (5))
                    headers={API_VERSION_HEADER: CURRENT_VERSION},
                    verify=self._context,
                    timeout=self._timeout,
                    limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
                )
                self._clients[code] = client
            return client

    def check_reachable(self, code: str) -> None:
        """Raise for an unknown municipality or a scheduled LGWAN outage (nothing is sent)."""
        if code not in self.endpoints:
            raise CentreError(CentreCode.MUNICIPALITY_UNKNOWN, f"no route to {code}")
        now = self.now()
        incident = self.incidents.active(IncidentKind.LGWAN_OUTAGE, now, code)
        if incident is not None:
            raise CentreError.during(CentreCode.LGWAN_UNAVAILABLE, incident, now)

    def call(
        self, code: str, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """One call to municipality `code`; a 2xx answer, or a CentreError/MunicipalRefusal."""
        self.check_reachable(code)
        try:
            answer = self._request(code, method, path, body)
        except httpx.HTTPError as exc:
            timed_out = isinstance(exc, httpx.TimeoutException)
            why = "timeout" if timed_out else type(exc).__name__
            self._record(code, method, path, error=why)
            self._down(code, why)
            if timed_out:
                raise CentreError(CentreCode.MUNICIPALITY_TIMEOUT, f"{code}: no answer") from exc
            raise CentreError(CentreCode.MUNICIPALITY_UNREACHABLE, f"{code}: {why}") from exc
        self._record(code, method, path, status=answer.status_code)
        if answer.is_success:
            self._up(code)
            return answer
        ctype = answer.headers.get("content-type", "").split(";")[0].strip()
        document = _json_object(answer) if ctype == PROBLEM_CONTENT_TYPE else None
        faulty = answer.status_code >= 500 and (
            document is None or document.get("code") in _FAULT_CODES or answer.status_code != 503
        )
        if faulty:
            self._down(code, f"HTTP {answer.status_code}")
        else:
            self._up(code)
        if document is None or not isinstance(document.get("code"), str):
            raise CentreError(CentreCode.MUNICIPALITY_ERROR, f"{code}: HTTP {answer.status_code}")
        if answer.status_code >= 500 and answer.status_code != 503:
            raise CentreError(
                CentreCode.MUNICIPALITY_ERROR,
                f"{code}: HTTP {answer.status_code}",
                municipal_code=document["code"],
            )
        raise MunicipalRefusal(answer.status_code, document, answer.headers.get("Retry-After"))

    def _request(
        self, code: str, method: str, path: str, body: Mapping[str, Any] | None
    ) -> httpx.Response:
        client = self._client(code)
        try:
            return client.request(method, path, json=body)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
            # a pooled connection that died under the request: a safe method is sent once
            # more; a POST is not (the municipality may have acted on it)
            if method not in ("GET", "HEAD", "DELETE"):
                raise
            return client.request(method, path, json=body)

    def call_json(
        self, code: str, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        answer = self.call(code, method, path, body)
        document = _json_object(answer)
        if document is None:
            raise CentreError(CentreCode.MUNICIPALITY_ERROR, f"{code}: answer is not JSON")
        return document

    def _down(self, code: str, why: str) -> None:
        self.monitor.down(NoticeKind.MUNICIPALITY_UNREACHABLE, code, why)

    def _up(self, code: str) -> None:
        self.monitor.up(NoticeKind.MUNICIPALITY_UNREACHABLE, code)

    def _record(self, code: str, method: str, path: str, **data: Any) -> None:
        if self.evidence is not None:
            # session ids in paths are opaque random tokens; no personal data crosses here
            self.evidence.record(
                "centre-lgwan",
                "call",
                municipality=code,
                method=method,
                path=path.split("/sessions/")[0],
                **data,
            )


def _json_object(answer: httpx.Response) -> dict[str, Any] | None:
    try:
        value = answer.json()
    except ValueError:
        return None
    return value if isinstance(value, dict) else None

"""The kiosk API over HTTPS: routes → `CentreService` (docs/api/centre.openapi.yaml).

The transport (rig.core.https) has required and verified a client certificate from one of the
centre's trusted CAs. Here each route also says which CA it serves: kiosk routes take only
kiosk-CA certificates (the kiosk id is the certificate's CN), the settlement route only
LGPKI-style ones (municipalities); anything else gets 403 `client_not_allowed`. Which
statistics a certificate may read is decided in `emulators.centre.access`.
Bodies are validated with the strict models of rig.core.protocols.centre: wrong shapes and types
give 422 `invalid_request` listing the failing fields (never the values sent).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, Literal, TypeVar

from cryptography import x509
from pydantic import BaseModel

from emulators.centre.access import (
    MUNICIPALITY_CODE,
    OPERATOR_ID,
    ClientKind,
    check_session_operator,
    operator_of,
    reader_for,
)
from emulators.centre.errors import CentreError, MunicipalRefusal
from emulators.centre.idempotency import IdempotencyStore, check_key, fingerprint
from emulators.centre.notices import MunicipalReport, NoticeBoard, OperatorReport
from emulators.centre.service import CentreService
from emulators.centre.statistics import CentreRecords
from rig.core.burden import annual_burden
from rig.core.https import Request, Response, Route
from rig.core.protocols.centre import (
    API_PREFIX,
    IDEMPOTENCY_HEADER,
    CardApAuth,
    CardApChallengeRequest,
    CentreCode,
    CertificateRequest,
    Completion,
    JpkiAuth,
    OpenSession,
    Payment,
    PinEntry,
)

_Model = TypeVar("_Model", bound=BaseModel)
_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_CODE = re.compile(r"^[0-9]{6}$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
S = API_PREFIX + "/sessions/{session_id}"
R = S + "/requests/{request_id}"


def _bad(loc: str, name: str, msg: str, kind: str = "pattern") -> dict[str, Any]:
    return {"loc": [loc, name], "msg": msg, "type": kind}


def day_range(query: dict[str, str]) -> tuple[date | None, date | None, list[dict[str, Any]]]:
    """`from` and `to` (YYYY-MM-DD, both optional, inclusive) and the errors found in them."""
    days: dict[str, date | None] = {"from": None, "to": None}
    errors = []
    for name in days:
        text = query.get(name)
        if text is None:
            continue
        try:
            if not _DAY.match(text):
                raise ValueError(text)
            days[name] = date.fromisoformat(text)
        except ValueError:
            errors.append(_bad("query", name, "a date, YYYY-MM-DD"))
    first, last = days["from"], days["to"]
    if first is not None and last is not None and first > last:
        errors.append(_bad("query", "to", "not before from", "range"))
    return first, last, errors


def _invalid(errors: list[dict[str, Any]]) -> CentreError:
    return CentreError(CentreCode.INVALID_REQUEST, "see errors", errors=errors)


def parse(model: type[_Model], request: Request) -> _Model:
    return request.parsed(model, _invalid)


def build_routes(
    service: CentreService,
    records: CentreRecords,
    cas: Mapping[x509.Name, ClientKind],
    idempotency: IdempotencyStore,
    notices: NoticeBoard,
) -> list[Route]:
    """`cas`: which trusted CA (by subject) issued a peer certificate is which kind of
    client (the TLS layer verified the chain)."""
    Op = Callable[[Request, str], Any]

    def route(
        method: str,
        path: str,
        fn: Op,
        *,
        clients: tuple[ClientKind, ...] = ("kiosk",),
        idempotent: Literal["no", "optional", "required"] = "no",
    ) -> Route:
        def handler(request: Request) -> Any:
            try:
                kind = cas.get(request.peer_cert.issuer)
                if kind not in clients:
                    raise CentreError(
                        CentreCode.CLIENT_NOT_ALLOWED, f"this route serves {' or '.join(clients)}"
                    )
                caller = request.peer_common_name
                key = None
                if idempotent != "no":
                    key = check_key(
                        request.headers.get(IDEMPOTENCY_HEADER), required=idempotent == "required"
                    )
                if key is None:
                    return _as_response(fn(request, caller))
                print_ = fingerprint(request.method, request.path, request.body)
                return idempotency.run(
                    caller, key, print_, lambda: _as_response(fn(request, caller))
                )
            except (CentreError, MunicipalRefusal) as exc:
                raise exc.problem() from None

        return Route(method, path, handler)

    def health(_r: Request, _caller: str) -> dict[str, Any]:
        now = service.clock.now()
        closure = service.window.hours.closure(now)
        return {
            "status": "ok",
            "time": now.isoformat(),
            "open": closure is None,
            "closure": closure.value if closure else None,
            "next_opening": service.window.hours.next_opening(now).isoformat(),
        }

    def open_session(r: Request, caller: str) -> Response:
        body = parse(OpenSession, r)
        check_session_operator(r.peer_cert, body.operator_id)
        session = service.open_session(caller, body)
        view = service.session_view(session)
        return Response(
            status=201, json=view, headers={"Location": f"{API_PREFIX}/sessions/{session.id}"}
        )

    def session_status(r: Request, caller: str) -> dict[str, Any]:
        return service.view(caller, r.params["session_id"])

    def end_session(r: Request, caller: str) -> Response:
        service.end_session(caller, r.params["session_id"])
        return Response(status=204)

    def nonce(r: Request, caller: str) -> Response:
        return Response(status=201, json=service.fresh_nonce(caller, r.params["session_id"]))

    def auth_jpki(r: Request, caller: str) -> dict[str, Any]:
        return service.authenticate_jpki(caller, r.params["session_id"], parse(JpkiAuth, r))

    def challenge(r: Request, caller: str) -> Response:
        body = parse(CardApChallengeRequest, r)
        return Response(
            status=201, json=service.card_ap_challenge(caller, r.params["session_id"], body)
        )

    def auth_card_ap(r: Request, caller: str) -> dict[str, Any]:
        return service.authenticate_card_ap(caller, r.params["session_id"], parse(CardApAuth, r))

    def pin(r: Request, caller: str) -> dict[str, Any]:
        return service.verify_pin(caller, r.params["session_id"], parse(PinEntry, r))

    def menu(r: Request, caller: str) -> dict[str, Any]:
        return service.menu(caller, r.params["session_id"])

    def new_request(r: Request, caller: str) -> Response:
        sid = r.params["session_id"]
        view = service.request_certificate(caller, sid, parse(CertificateRequest, r))
        location = f"{API_PREFIX}/sessions/{sid}/requests/{view['request_id']}"
        return Response(status=201, json=view, headers={"Location": location})

    def request_status(r: Request, caller: str) -> dict[str, Any]:
        return service.request_status(caller, r.params["session_id"], r.params["request_id"])

    def document(r: Request, caller: str) -> Response:
        pdf, digest = service.download(caller, r.params["session_id"], r.params["request_id"])
        return Response(
            body=pdf, content_type="application/pdf", headers={"X-Document-SHA256": digest}
        )

    def payment(r: Request, caller: str) -> dict[str, Any]:
        body = parse(Payment, r)
        return service.pay(caller, r.params["session_id"], r.params["request_id"], body)

    def completion(r: Request, caller: str) -> dict[str, Any]:
        body = parse(Completion, r)
        return service.complete(caller, r.params["session_id"], r.params["request_id"], body)

    def cancel(r: Request, caller: str) -> Response:
        service.cancel_request(caller, r.params["session_id"], r.params["request_id"])
        return Response(status=204)

    def settlement(r: Request, caller: str) -> dict[str, Any]:
        reader = reader_for(cas.get(r.peer_cert.issuer), r.peer_cert, caller)
        month = r.query.get("month")
        code = r.query.get("municipality")
        errors = []
        if month is not None and not _MONTH.match(month):
            errors.append(_bad("query", "month", "YYYY-MM"))
        if code is not None and not _CODE.match(code):
            errors.append(_bad("query", "municipality", "6 digits"))
        if errors:
            raise _invalid(errors)
        # a municipality that names no code reads its own rows, never everyone's
        code = reader.municipality(code)
        return {"month": month, "municipality": code, "rows": records.settlement(month, code)}

    def municipal_statistics(r: Request, caller: str) -> dict[str, Any]:
        reader = reader_for(cas.get(r.peer_cert.issuer), r.peer_cert, caller)
        code = r.params["municipality"]
        first, last, errors = day_range(r.query)
        if not MUNICIPALITY_CODE.fullmatch(code):
            errors.insert(0, _bad("path", "municipality", "6 digits"))
        if errors:
            raise _invalid(errors)
        code = reader.municipality(code) or code
        rows = records.daily_by_type(code, first, last)
        return _statistics("municipality", code, first, last, rows)

    def operator_statistics(r: Request, caller: str) -> dict[str, Any]:
        reader = reader_for(cas.get(r.peer_cert.issuer), r.peer_cert, caller)
        operator = r.params["operator"]
        first, last, errors = day_range(r.query)
        if not OPERATOR_ID.fullmatch(operator):
            errors.insert(0, _bad("path", "operator", "1-32 of a-z 0-9 -"))
        if errors:
            raise _invalid(errors)
        operator = reader.operator(operator)
        rows = records.daily_by_store(operator, first, last)
        return _statistics("operator", operator, first, last, rows)

    def municipality_of(caller: str) -> str:
        # a municipal system's LGPKI certificate names the municipality by its code
        if not _CODE.match(caller):
            raise CentreError(
                CentreCode.CLIENT_NOT_ALLOWED, "the certificate's CN is not a municipality code"
            )
        return caller

    def list_notices(r: Request, caller: str) -> dict[str, Any]:
        now = service.clock.now()
        if cas.get(r.peer_cert.issuer) == "kiosk":
            audience, found = "operators", notices.for_operators()
        else:
            audience, found = "municipalities", notices.for_municipality(municipality_of(caller))
        return {
            "audience": audience,
            "time": now.isoformat(),
            "notices": [n.view(now) for n in found],
        }

    def report_notice(r: Request, caller: str) -> Response:
        code = municipality_of(caller)
        notice = notices.report(code, parse(MunicipalReport, r))
        return Response(status=201, json=notice.view(service.clock.now()))

    def report_operator_fault(r: Request, _caller: str) -> Response:
        operator = operator_of(r.peer_cert)
        if not operator:
            raise CentreError(
                CentreCode.CLIENT_NOT_ALLOWED, "the certificate names no operator (OU)"
            )
        notice = notices.report_operator(operator, parse(OperatorReport, r))
        return Response(status=201, json=notice.view(service.clock.now()))

    def burden(r: Request, _caller: str) -> dict[str, Any]:
        kind, population = r.query.get("kind", ""), r.query.get("population", "")
        errors = []
        if not population.isascii() or not population.isdigit() or len(population) > 10:
            errors.append(_bad("query", "population", "digits"))
        try:
            yen = annual_burden(kind, int(population)) if not errors else 0
        except ValueError:
            errors.append(_bad("query", "kind", "unknown kind", "enum"))
        if errors:
            raise _invalid(errors)
        return {"kind": kind, "population": int(population), "annual_burden_yen": yen}

    return [
        route("GET", API_PREFIX + "/health", health, clients=("kiosk", "lgpki")),
        route("POST", API_PREFIX + "/sessions", open_session, idempotent="optional"),
        route("GET", S, session_status),
        route("DELETE", S, end_session),
        route("POST", S + "/nonce", nonce),
        route("POST", S + "/auth/jpki", auth_jpki),
        route("POST", S + "/auth/card-ap/challenge", challenge),
        route("POST", S + "/auth/card-ap", auth_card_ap),
        route("POST", S + "/pin", pin),
        route("GET", S + "/menu", menu),
        route("POST", S + "/requests", new_request, idempotent="required"),
        route("GET", R, request_status),
        route("DELETE", R, cancel),
        route("GET", R + "/document", document),
        route("POST", R + "/payment", payment, idempotent="required"),
        route("POST", R + "/completion", completion, idempotent="required"),
        route("GET", API_PREFIX + "/settlement", settlement, clients=("lgpki",)),
        route(
            "GET",
            API_PREFIX + "/municipalities/{municipality}/statistics",
            municipal_statistics,
            clients=("lgpki",),
        ),
        route(
            "GET",
            API_PREFIX + "/operators/{operator}/statistics",
            operator_statistics,
            clients=("kiosk", "lgpki"),
        ),
        route("GET", API_PREFIX + "/notices", list_notices, clients=("kiosk", "lgpki")),
        route("POST", API_PREFIX + "/notices", report_notice, clients=("lgpki",)),
        route("POST", API_PREFIX + "/operator-reports", report_operator_fault, clients=("kiosk",)),
        route("GET", API_PREFIX + "/burden", burden, clients=("lgpki",)),
    ]


def _statistics(
    subject: str, value: str, first: date | None, last: date | None, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    totals = {k: sum(int(r[k]) for r in rows) for k in ("issuances", "copies", "fees")}
    return {
        subject: value,
        "from": first.isoformat() if first else None,
        "to": last.isoformat() if last else None,
        "rows": rows,
        "totals": totals,
    }


def _as_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    return Response(json=result)


__all__ = ["build_routes", "parse"]

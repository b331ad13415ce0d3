"""The municipal API over HTTPS: routes → `IssuanceService` (docs/api/municipal.openapi.yaml).

The centre is the only client; the transport (rig.core.https) has already required and verified
its LGPKI-style client certificate. Bodies are validated with strict pydantic models:
wrong shapes and types give 422 `invalid_request` with the failing fields (never the values).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date
from typing import Any, Literal

from pydantic import Field

from emulators.municipal.certificates import CertificateRequest
from emulators.municipal.faults import MunicipalFaults
from emulators.municipal.reasons import Refusal, RefusalCode
from emulators.municipal.service import InvalidRequest, IssuanceService
from rig.core.https import Handler, Problem, Request, Response, Route
from rig.core.protocols.certificates import StrictModel, WireInt
from rig.core.protocols.lgwan import API_VERSION_HEADER, CURRENT_VERSION, version_problem

PREFIX = "/v1"
M = PREFIX + "/municipalities/{code}"


class JpkiAuth(StrictModel):
    cert_serial: str = Field(min_length=1, max_length=64)


class CardApChallengeRequest(StrictModel):
    user_id: str = Field(min_length=1, max_length=64)


class CardApAuth(StrictModel):
    user_id: str = Field(min_length=1, max_length=64)
    challenge: str = Field(pattern=r"^[0-9a-fA-F]{32}$")
    response: str = Field(pattern=r"^(?:[0-9a-fA-F]{2}){1,64}$")


class PinRequest(StrictModel):
    pin: str = Field(min_length=1, max_length=16)


class ResultReport(StrictModel):
    outcome: Literal["printed", "cancelled"]
    copies_printed: WireInt = Field(ge=0, le=99)


def invalid(errors: list[dict[str, Any]]) -> Problem:
    return Problem(422, "invalid_request", "Invalid request", "see errors", errors=errors)


def _session_json(session: Any) -> dict[str, Any]:
    return {
        "session_id": session.id,
        "expires_at": session.expires_at.isoformat(),
        "resident": session.resident,
        "pin_required": not session.pin_verified,
    }


def _date_param(request: Request, name: str, default: date) -> date:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise invalid([{"loc": ["query", name], "msg": "a date YYYY-MM-DD"}]) from None


def build_routes(service: IssuanceService, faults: MunicipalFaults) -> list[Route]:
    def guarded(fn: Callable[[Request], Any], *, faultable: bool = True) -> Handler:
        def handler(request: Request) -> Any:
            try:
                check_version(request)
                if faultable:
                    faults.apply()
                result = fn(request)
            except (Refusal, InvalidRequest) as exc:
                problem = exc.problem() if isinstance(exc, Refusal) else invalid(exc.errors)
                problem.headers[API_VERSION_HEADER] = CURRENT_VERSION
                raise problem from None
            answer = result if isinstance(result, Response) else Response(json=result)
            answer.headers[API_VERSION_HEADER] = CURRENT_VERSION
            return answer

        return handler

    def check_version(request: Request) -> None:
        """The centre's announced interface version must be the latest (seed II.3 (5))."""
        announced = request.headers.get(API_VERSION_HEADER)
        why = version_problem(announced)
        if why is not None:
            raise Refusal(
                RefusalCode.API_VERSION_UNSUPPORTED,
                why,
                requested=(announced or "")[:20],
                supported=[CURRENT_VERSION],
            )

    def health(_r: Request) -> dict[str, Any]:
        return {"status": "ok", "time": service.clock.now().isoformat()}

    def municipalities(_r: Request) -> dict[str, Any]:
        return {
            "municipalities": [
                {"code": c.code, "name": c.name, "prefecture": c.prefecture, "kind": c.kind}
                for c in service.configs.values()
            ]
        }

    def auth_jpki(r: Request) -> Response:
        body = r.parsed(JpkiAuth, invalid)
        session = service.authenticate_jpki(r.params["code"], body.cert_serial)
        return Response(status=201, json=_session_json(session))

    def challenge(r: Request) -> Response:
        body = r.parsed(CardApChallengeRequest, invalid)
        value, expires = service.card_ap_challenge(r.params["code"], body.user_id)
        return Response(
            status=201, json={"challenge": value.hex(), "expires_at": expires.isoformat()}
        )

    def auth_card_ap(r: Request) -> Response:
        body = r.parsed(CardApAuth, invalid)
        if len(body.response) % 2:
            raise invalid([{"loc": ["response"], "msg": "an even number of hex digits"}])
        session = service.authenticate_card_ap(
            r.params["code"],
            body.user_id,
            bytes.fromhex(body.challenge),
            bytes.fromhex(body.response),
        )
        return Response(status=201, json=_session_json(session))

    def pin(r: Request) -> dict[str, Any]:
        body = r.parsed(PinRequest, invalid)
        service.verify_pin(r.params["code"], r.params["session_id"], body.pin)
        return {"verified": True}

    def menu(r: Request) -> dict[str, Any]:
        return service.menu(r.params["code"], r.params["session_id"])

    def certificates(r: Request) -> Response:
        body = r.parsed(CertificateRequest, invalid)
        code = r.params["code"]
        doc = service.issue(code, r.params["session_id"], body)
        payload: dict[str, Any] = {
            "document_id": doc.document_id,
            "type": doc.cert.type,
            "variant": doc.cert.variant,
            "title": doc.cert.title,
            "paper": doc.rendered.paper,
            "pages": doc.rendered.pages,
            "copies": doc.copies,
            "fee_per_copy": doc.fee_per_copy,
            "total_fee": doc.fee_per_copy * doc.copies,
            "resident_id": doc.resident_id,
            "page_resident_ids": [doc.resident_id] * doc.rendered.pages,
            "issued_at": doc.issued_at.isoformat(),
            "sha256": doc.sha256,
            "content_type": "application/pdf",
        }
        if body.delivery == "url":
            payload["download_url"] = f"{PREFIX}/municipalities/{code}/documents/{doc.document_id}"
        else:
            payload["pdf_base64"] = base64.b64encode(doc.rendered.data).decode("ascii")
        return Response(status=201, json=payload)

    def end_session(r: Request) -> Response:
        service.close_session(r.params["code"], r.params["session_id"])
        return Response(status=204)

    def document(r: Request) -> Response:
        data = service.take_document(r.params["code"], r.params["document_id"])
        return Response(body=data, content_type="application/pdf")

    def result(r: Request) -> dict[str, Any]:
        body = r.parsed(ResultReport, invalid)
        service.report_result(
            r.params["code"], r.params["document_id"], body.outcome, body.copies_printed
        )
        return {"recorded": True}

    def statistics(r: Request) -> dict[str, Any]:
        today = service.clock.now().date()
        start = _date_param(r, "from", today.replace(day=1))
        end = _date_param(r, "to", today)
        return service.statistics(r.params["code"], start, end)

    table: list[tuple[str, str, Callable[[Request], Any], bool]] = [
        ("GET", PREFIX + "/health", health, False),
        ("GET", PREFIX + "/municipalities", municipalities, False),
        ("POST", M + "/auth/jpki", auth_jpki, True),
        ("POST", M + "/auth/card-ap/challenge", challenge, True),
        ("POST", M + "/auth/card-ap", auth_card_ap, True),
        ("POST", M + "/sessions/{session_id}/pin", pin, True),
        ("GET", M + "/sessions/{session_id}/menu", menu, True),
        ("POST", M + "/sessions/{session_id}/certificates", certificates, True),
        ("DELETE", M + "/sessions/{session_id}", end_session, True),
        ("GET", M + "/documents/{document_id}", document, True),
        ("POST", M + "/documents/{document_id}/result", result, True),
        ("GET", M + "/statistics", statistics, False),
    ]
    return [Route(method, path, guarded(fn, faultable=f)) for method, path, fn, f in table]

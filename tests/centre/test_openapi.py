"""docs/api/centre.openapi.yaml, the server and the shared models stay in step."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.serialization import Encoding
from pydantic import BaseModel

from emulators.centre.notices import MunicipalReport
from rig.core.protocols import centre as proto
from tests.openapi_checks import documented_routes, undeclared_path_parameters

from .conftest import CITY, CentreWorld

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "api" / "centre.openapi.yaml"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DOC_PATH.read_text("utf-8"))
    return data


def test_it_is_openapi_3_1_with_mutual_tls(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1.")
    schemes = spec["components"]["securitySchemes"]
    assert schemes["kiosk"]["type"] == schemes["lgpki"]["type"] == "mutualTLS"


def test_routes_match_the_server(spec: dict[str, Any], shared: CentreWorld) -> None:
    documented = documented_routes(spec)
    assert documented == set(shared.centre.route_table())


def test_path_parameters_are_declared(spec: dict[str, Any]) -> None:
    assert undeclared_path_parameters(spec) == []


def test_idempotency_key_where_the_server_requires_it(spec: dict[str, Any]) -> None:
    required = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method != "parameters"
        and {"$ref": "#/components/parameters/IdempotencyKey"} in op.get("parameters", [])
    }
    s = "/v1/sessions/{session_id}/requests"
    assert required == {
        ("POST", s),
        ("POST", s + "/{request_id}/payment"),
        ("POST", s + "/{request_id}/completion"),
    }


def test_codes_match(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["CentreCode"]["enum"] == [c.code for c in proto.CentreCode]
    assert tuple(schemas["TransportCode"]["enum"]) == proto.TRANSPORT_CODES


def test_errors_are_problem_documents(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    assert response["$ref"] in (
                        "#/components/responses/Problem",
                        "#/components/responses/Unavailable",
                    ), (path, method, status)


@pytest.mark.parametrize(
    ("schema", "model"),
    [
        ("OpenSession", proto.OpenSession),
        ("JpkiAuth", proto.JpkiAuth),
        ("CardApChallengeRequest", proto.CardApChallengeRequest),
        ("CardApAuth", proto.CardApAuth),
        ("PinEntry", proto.PinEntry),
        ("CertificateOptions", proto.CertificateOptions),
        ("CertificateRequest", proto.CertificateRequest),
        ("Payment", proto.Payment),
        ("Completion", proto.Completion),
        ("MunicipalReport", MunicipalReport),
    ],
)
def test_request_schemas_match_the_models(
    spec: dict[str, Any], schema: str, model: type[BaseModel]
) -> None:
    documented = spec["components"]["schemas"][schema]
    assert documented["additionalProperties"] is False
    assert set(documented["properties"]) == set(model.model_fields)
    required = {name for name, f in model.model_fields.items() if f.is_required()}
    assert set(documented.get("required", [])) == required
    for name, field in model.model_fields.items():
        prop = documented["properties"][name]
        if "$ref" in prop:
            prop = spec["components"]["schemas"][prop["$ref"].rsplit("/", 1)[1]]
        for meta in field.metadata:
            pattern = getattr(meta, "pattern", None)
            if pattern is not None:
                assert prop["pattern"] == pattern, (schema, name)


def _keys_match(spec: dict[str, Any], schema: str, answer: dict[str, Any]) -> None:
    documented = spec["components"]["schemas"][schema]
    assert set(documented.get("required", [])) <= set(answer), schema
    assert set(answer) <= set(documented["properties"]), schema


def test_answers_match_the_schemas(spec: dict[str, Any], shared: CentreWorld) -> None:
    w = shared
    kiosk = w.kiosk()
    creds = w.jpki_holder(3, CITY, w.find(CITY, "eligible", 30))
    session = w.open(kiosk)
    raw = kiosk.http
    _keys_match(spec, "Session", raw.get(f"/sessions/{session.session_id}").json())
    assert session.nonce is not None
    der = creds.auth_cert.public_bytes(Encoding.DER)
    auth = raw.post(
        f"/sessions/{session.session_id}/auth/jpki",
        json={
            "certificate": base64.b64encode(der).decode(),
            "signature": base64.b64encode(w.sign(creds, session.nonce)).decode(),
            "nonce": session.nonce.hex(),
        },
    ).json()
    _keys_match(spec, "AuthResult", auth)
    receipt = raw.post(
        f"/sessions/{session.session_id}/requests",
        json={"type": "resident_record"},
        headers={"Idempotency-Key": "schema-key-1"},
    ).json()
    _keys_match(spec, "Receipt", receipt)
    _keys_match(spec, "Problem", raw.get(f"/sessions/{session.session_id}/requests/x").json())
    health = spec["paths"]["/v1/health"]["get"]["responses"]["200"]["content"]
    assert set(raw.get("/health").json()) == set(health["application/json"]["schema"]["properties"])
    kiosk.end_session(session.session_id)

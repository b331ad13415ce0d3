"""The OpenAPI document (docs/api/municipal.openapi.yaml) and the server stay in step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from emulators.municipal.api import (
    CardApAuth,
    CardApChallengeRequest,
    JpkiAuth,
    PinRequest,
    ResultReport,
)
from emulators.municipal.certificates import CertificateRequest
from emulators.municipal.reasons import RefusalCode
from rig.core.protocols.certificates import CertificateOptions
from tests.openapi_checks import documented_routes, undeclared_path_parameters

from .conftest import World

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "api" / "municipal.openapi.yaml"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DOC_PATH.read_text("utf-8"))
    return data


def test_it_is_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1.")
    assert spec["components"]["securitySchemes"]["lgpki"]["type"] == "mutualTLS"


def test_routes_match_the_server(spec: dict[str, Any], shared_world: World) -> None:
    documented = documented_routes(spec)
    served = set(shared_world.server.route_table())
    assert documented == served


def test_path_parameters_are_declared(spec: dict[str, Any]) -> None:
    assert undeclared_path_parameters(spec) == []


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


def test_refusal_codes_match(spec: dict[str, Any]) -> None:
    assert spec["components"]["schemas"]["RefusalCode"]["enum"] == [c.code for c in RefusalCode]


@pytest.mark.parametrize(
    ("schema", "model"),
    [
        ("JpkiAuth", JpkiAuth),
        ("CardApChallengeRequest", CardApChallengeRequest),
        ("CardApAuth", CardApAuth),
        ("PinRequest", PinRequest),
        ("ResultReport", ResultReport),
        ("CertificateRequest", CertificateRequest),
        ("CertificateOptions", CertificateOptions),
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


def _keys_match(spec: dict[str, Any], schema: str, answer: dict[str, Any]) -> None:
    documented = spec["components"]["schemas"][schema]
    assert set(documented.get("required", [])) <= set(answer), schema
    assert set(answer) <= set(documented["properties"]), schema


def test_answers_match_the_schemas(spec: dict[str, Any], shared_world: World) -> None:
    w = shared_world
    code = "991015"
    with w.client() as c:
        r = w.jpki_login(c, code, w.find(code, "household_of_2"))
        _keys_match(spec, "Session", r.json())
        sid = r.json()["session_id"]
        menu = c.get(f"/municipalities/{code}/sessions/{sid}/menu").json()
        _keys_match(spec, "Menu", menu)
        for item in menu["certificates"]:
            _keys_match(spec, "MenuItem", item)
        for delivery in ("inline", "url"):
            answer = c.post(
                f"/municipalities/{code}/sessions/{sid}/certificates",
                json={"type": "resident_record", "delivery": delivery},
            ).json()
            _keys_match(spec, "CertificateAnswer", answer)
        stats = c.get(f"/municipalities/{code}/statistics").json()
        _keys_match(spec, "Statistics", stats)
        for group in stats["by_type"]:
            _keys_match(spec, "StatisticsGroup", group)
        problem = c.get(f"/municipalities/{code}/sessions/nope/menu").json()
        _keys_match(spec, "Problem", problem)

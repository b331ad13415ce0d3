"""schemathesis with every check against the municipal LGWAN API: the document says exactly
what the server accepts and answers."""

from __future__ import annotations

from pathlib import Path

from tests.schemathesis_run import run_schemathesis

from .conftest import World


def test_municipal_api_conforms_to_its_openapi_document(
    shared_world: World, tmp_path: Path
) -> None:
    root = shared_world.urls["base"].removesuffix("/v1")
    tls = shared_world.tls
    report = run_schemathesis(
        "municipal.openapi.yaml", root, tls.lgpki_client(), tls.server_ca, tmp_path
    )
    assert "No issues found" in report or " passed" in report

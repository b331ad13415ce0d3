"""schemathesis with every check against the centre's API: the document says exactly what the
server accepts and answers, to a kiosk and to a municipal (LGPKI) client alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.schemathesis_run import DOCS, run_schemathesis

from .conftest import CentreWorld


def _operations_for(scheme: str) -> list[str]:
    """The operationIds a client of `scheme` (kiosk, lgpki) may call."""
    spec: dict[str, Any] = yaml.safe_load((DOCS / "centre.openapi.yaml").read_text("utf-8"))
    default = spec["security"]
    return [
        op["operationId"]
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        and "operationId" in op
        and any(scheme in option for option in op.get("security", default))
    ]


@pytest.mark.parametrize("scheme", ["kiosk", "lgpki"])
def test_centre_api_conforms_to_its_openapi_document(
    shared: CentreWorld, tmp_path: Path, scheme: str
) -> None:
    tls = shared.tls
    pair = tls.kiosk_client("kiosk-0001") if scheme == "kiosk" else tls.lgpki_client()
    operations = _operations_for(scheme)
    assert "health" in operations  # both may call it
    root = shared.url.removesuffix("/v1")
    report = run_schemathesis(
        "centre.openapi.yaml", root, pair, tls.server_ca, tmp_path, operations
    )
    assert "No issues found" in report or " passed" in report

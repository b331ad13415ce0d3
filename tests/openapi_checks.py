"""Checks every committed OpenAPI document gets (centre and municipal APIs alike)."""

from __future__ import annotations

import re
from typing import Any

HTTP_METHODS = ("get", "post", "put", "delete", "patch")


def documented_routes(spec: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) for every operation the document declares."""
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def undeclared_path_parameters(spec: dict[str, Any]) -> list[str]:
    """Paths whose {parameters} differ from the parameters the document declares for them."""
    params = spec["components"]["parameters"]
    wrong = []
    for path, item in spec["paths"].items():
        declared = {
            params[p["$ref"].rsplit("/", 1)[1]]["name"] if "$ref" in p else p["name"]
            for p in item.get("parameters", [])
        }
        if set(re.findall(r"\{(\w+)\}", path)) != declared:
            wrong.append(path)
    return wrong

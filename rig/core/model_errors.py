"""How a file the rig reads (a topology, a load profile, a server's test data) is read and
refused: a YAML mapping at the top, then every problem pydantic found, each with its field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def describe(exc: ValidationError, source: str) -> str:
    """`source: N problem(s)` and one line per problem: `  - field.path: message`."""
    lines = [f"{source}: {exc.error_count()} problem(s)"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  - {where}: {err['msg']}")
    return "\n".join(lines)


def read_yaml(path: Path, error: type[Exception]) -> Any:
    """The parsed YAML of `path`; `error` names the file when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from exc


def validated(model: type[M], data: Any, source: str, error: Callable[[str], Exception]) -> M:
    """`data` as `model`; `error` says when it is not a mapping or lists every problem."""
    if not isinstance(data, dict):
        raise error(f"{source}: expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(describe(exc, source)) from exc


def load_model(path: Path, model: type[M], error: type[Exception]) -> M:
    """Read `path` (YAML) and validate it as `model`; every refusal is an `error`."""
    return validated(model, read_yaml(path, error), str(path), error)

"""Loading and validating the catalogue file (catalogue.yaml) into a `Catalogue`.

Validation collects every problem before failing, so one run shows all broken entries; each
message names the entry by position and id and says what is wrong with which field.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from rig.core.requirements.model import (
    Area,
    Basis,
    Catalogue,
    Interface,
    Party,
    Requirement,
    Severity,
)
from rig.core.requirements.sources import source_problem

SCHEMA_VERSION = 1
#: Area codes: upper-case words joined by hyphens (`SEC`, `JPKI-FLOW`).
AREA_CODE = re.compile(r"^[A-Z]+(?:-[A-Z]+)*$")
#: Requirement ids: the area code, a hyphen and three digits (`JPKI-FLOW-003`).
REQUIREMENT_ID = re.compile(r"^(?P<area>[A-Z]+(?:-[A-Z]+)*)-(?P<number>\d{3})$")

_TOP_KEYS = frozenset({"schema", "areas", "requirements"})
_AREA_KEYS = frozenset({"title", "description"})
_REQUIRED_KEYS = ("id", "area", "statement", "severity", "source", "observed_at", "party")
_OPTIONAL_KEYS = frozenset({"ja", "basis"})
_SHALL = re.compile(r"\bshall\b")

_E = TypeVar("_E", Severity, Party, Basis, Interface)


class CatalogueError(ValueError):
    """The catalogue is malformed; `problems` lists every problem found, one per line."""

    def __init__(self, origin: str, problems: list[str]):
        self.origin = origin
        self.problems = tuple(problems)
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{origin}: {len(problems)} problem(s) in the catalogue:\n{listing}")


def default_path() -> Path:
    """The catalogue shipped with the rig (rig/core/requirements/catalogue.yaml)."""
    return Path(str(resources.files("rig.core.requirements").joinpath("catalogue.yaml")))


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """Read, validate and return the catalogue (the shipped one unless `path` is given)."""
    file = Path(path) if path is not None else default_path()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(str(file), [f"cannot read the file: {exc.strerror or exc}"]) from exc
    try:
        data = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        raise CatalogueError(str(file), [f"not valid YAML: {exc}"]) from exc
    return parse_catalogue(data, origin=file.name)


@functools.cache
def shipped_catalogue() -> Catalogue:
    """The shipped catalogue, loaded once per process (for plugins that look ids up often)."""
    return load_catalogue()


def parse_catalogue(data: Any, origin: str = "<catalogue>") -> Catalogue:
    """Validate already-parsed YAML data; raise `CatalogueError` listing every problem."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise CatalogueError(origin, ["the top level must be a mapping (schema, areas, ...)"])
    for key in sorted(set(map(str, data)) - _TOP_KEYS):
        problems.append(f"unknown top-level key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})")
    if data.get("schema") != SCHEMA_VERSION:
        problems.append(f"schema must be {SCHEMA_VERSION}, not {data.get('schema')!r}")
    areas = _parse_areas(data.get("areas"), problems)
    requirements = _parse_requirements(data.get("requirements"), areas, problems)
    if problems:
        raise CatalogueError(origin, problems)
    return Catalogue(areas.values(), requirements)


def _parse_areas(raw: Any, problems: list[str]) -> dict[str, Area]:
    areas: dict[str, Area] = {}
    if not isinstance(raw, Mapping) or not raw:
        problems.append("areas must be a non-empty mapping of area code -> {title, description}")
        return areas
    for code, body in raw.items():
        where = f"areas[{code!r}]"
        if not isinstance(code, str) or not AREA_CODE.match(code):
            problems.append(f"{where}: malformed area code (upper-case words joined by '-')")
            continue
        if not isinstance(body, Mapping):
            problems.append(f"{where}: must be a mapping with title and description")
            continue
        for key in sorted(set(map(str, body)) - _AREA_KEYS):
            problems.append(f"{where}: unknown key {key!r}")
        title, description = body.get("title"), body.get("description")
        if not _text(title):
            problems.append(f"{where}: empty or missing title")
        if not _text(description):
            problems.append(f"{where}: empty or missing description")
        areas[code] = Area(code, str(title or "").strip(), str(description or "").strip())
    return areas


def _parse_requirements(
    raw: Any, areas: Mapping[str, Area], problems: list[str]
) -> list[Requirement]:
    if not isinstance(raw, list) or not raw:
        problems.append("requirements must be a non-empty list")
        return []
    requirements: list[Requirement] = []
    first_seen: dict[str, int] = {}
    for index, entry in enumerate(raw):
        requirement = _parse_requirement(index, entry, areas, first_seen, problems)
        if requirement is not None:
            requirements.append(requirement)
    return requirements


def _parse_requirement(
    index: int,
    entry: Any,
    areas: Mapping[str, Area],
    first_seen: dict[str, int],
    problems: list[str],
) -> Requirement | None:
    if not isinstance(entry, Mapping):
        problems.append(f"requirements[{index}]: must be a mapping, not {type(entry).__name__}")
        return None
    rid = entry.get("id")
    where = f"requirements[{index}] ({rid})" if isinstance(rid, str) else f"requirements[{index}]"
    before = len(problems)

    for key in sorted(set(map(str, entry)) - set(_REQUIRED_KEYS) - _OPTIONAL_KEYS):
        problems.append(f"{where}: unknown field {key!r}")
    missing = [key for key in _REQUIRED_KEYS if key not in entry]
    if missing:
        problems.append(f"{where}: missing field(s) {', '.join(missing)}")

    area = entry.get("area")
    if "area" in entry and not (isinstance(area, str) and area in areas):
        problems.append(f"{where}: unknown area {area!r} (known: {', '.join(areas)})")

    if "id" in entry:
        match = REQUIREMENT_ID.match(rid) if isinstance(rid, str) else None
        if match is None or not isinstance(rid, str):
            problems.append(f"{where}: malformed id {rid!r} (want AREA-NNN, e.g. 'JPKI-FLOW-003')")
        else:
            if isinstance(area, str) and area in areas and match["area"] != area:
                problems.append(f"{where}: id prefix {match['area']!r} differs from area {area!r}")
            if rid in first_seen:
                problems.append(
                    f"{where}: duplicate id {rid!r} (first at requirements[{first_seen[rid]}])"
                )
            else:
                first_seen[rid] = index

    statement = entry.get("statement")
    if "statement" in entry:
        if statement is not None and not isinstance(statement, str):
            problems.append(f"{where}: statement must be text, not {type(statement).__name__}")
        elif not _text(statement):
            problems.append(f"{where}: empty statement")
        elif "\n" in str(statement).strip():
            problems.append(f"{where}: statement must be one line")
        elif not _SHALL.search(str(statement)):
            problems.append(f"{where}: statement must say what 'shall' hold")

    severity = _enum(Severity, entry, "severity", where, problems)
    party = _enum(Party, entry, "party", where, problems)
    sources = _sources(entry.get("source"), where, problems, "source" in entry)
    observed = _interfaces(entry.get("observed_at"), where, problems, "observed_at" in entry)

    ja = entry.get("ja")
    if "ja" in entry and not _text(ja):
        problems.append(f"{where}: ja, when present, must be non-empty text")
    basis = _enum(Basis, entry, "basis", where, problems) if "basis" in entry else Basis.SOURCE
    if basis is Basis.RIG and sources and all(s.startswith("DESIGN.md") for s in sources):
        problems.append(
            f"{where}: basis 'rig' is implied when only DESIGN.md is cited; "
            "cite the source that gives the aim"
        )
    elif basis is Basis.RIG and sources and not any(s.startswith("DESIGN.md") for s in sources):
        problems.append(f"{where}: basis 'rig' also cites DESIGN.md (where the rig says why)")

    if len(problems) > before or severity is None or party is None or basis is None:
        return None
    return Requirement(
        id=str(rid),
        area=str(area),
        statement=str(statement).strip(),
        severity=severity,
        sources=sources,
        observed_at=observed,
        party=party,
        ja=str(ja).strip() if ja is not None else None,
        basis=basis,
    )


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _enum(
    kind: type[_E], entry: Mapping[str, Any], field: str, where: str, problems: list[str]
) -> _E | None:
    if field not in entry:
        return None
    found = _member(kind, entry[field])
    if found is None:
        known = ", ".join(member.value for member in kind)
        problems.append(f"{where}: unknown {field} {entry[field]!r} (known: {known})")
    return found


def _member(kind: type[_E], value: Any) -> _E | None:
    """The member of `kind` whose value is `value` (a string), or None."""
    return next((member for member in kind if member.value == value), None)


def _sources(value: Any, where: str, problems: list[str], present: bool) -> tuple[str, ...]:
    if not present:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        problems.append(f"{where}: source must be a citation or a non-empty list of them")
        return ()
    citations: list[str] = []
    for item in items:
        if not _text(item):
            problems.append(f"{where}: each source citation must be non-empty text, not {item!r}")
            continue
        problem = source_problem(str(item).strip())
        if problem:
            problems.append(f"{where}: {problem}")
        citations.append(str(item).strip())
    return tuple(citations)


def _interfaces(
    value: Any, where: str, problems: list[str], present: bool
) -> tuple[Interface, ...]:
    if not present:
        return ()
    items = [value] if isinstance(value, str) else value
    known = ", ".join(member.value for member in Interface)
    if not isinstance(items, list) or not items:
        problems.append(f"{where}: observed_at must name at least one interface ({known})")
        return ()
    interfaces: list[Interface] = []
    for item in items:
        interface = _member(Interface, item)
        if interface is None:
            problems.append(f"{where}: unknown interface {item!r} in observed_at (known: {known})")
            continue
        if interface in interfaces:
            problems.append(f"{where}: interface {item!r} listed twice in observed_at")
        interfaces.append(interface)
    return tuple(interfaces)

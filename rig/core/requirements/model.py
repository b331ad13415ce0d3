"""The requirement catalogue's typed entries (要件カタログ) and lookups over them.

A requirement is one testable statement of the seed (the J-LIS guide), of the domain notes
or of DESIGN.md: an id such as `JPKI-FLOW-003`, a one-line "shall" statement, where it comes
from, how bad a failure is, and at which interface a scenario can observe it. Scenarios name
the ids they verify; the report joins the two.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Severity(StrEnum):
    """How bad a failure is: it orders the report and decides what blocks go-live."""

    #: privacy, another person's data, money
    CRITICAL = "critical"
    #: the issuance flow and operations
    MAJOR = "major"
    #: presentation (wording, screen content)
    MINOR = "minor"


class Interface(StrEnum):
    """Where a scenario observes the requirement: an interface the rig plays or watches."""

    CARD = "card"
    CASH = "cash"
    PRINTER = "printer"
    CENTRE_API = "centre-api"
    MUNICIPAL_API = "municipal-api"
    OCSP = "ocsp"
    KIOSK_ROBOT = "kiosk-robot"
    REPORT = "report"


class Party(StrEnum):
    """Whose behaviour the requirement constrains; test plans select by it."""

    KIOSK = "kiosk"
    CENTRE = "centre"
    ISSUANCE_SERVER = "issuance-server"
    CARD = "card"
    OPERATOR = "operator"
    MUNICIPALITY = "municipality"
    RIG = "rig"


class Basis(StrEnum):
    """How the cited sources carry the requirement (docs/requirements.md, "Basis")."""

    #: the cited source states what the requirement demands
    SOURCE = "source"
    #: the rig's own strictness: the sources give the aim, the rig chooses this means or bound
    RIG = "rig"


@dataclass(frozen=True)
class Area:
    """A group of requirements; its code is the prefix of their ids."""

    code: str
    title: str
    description: str


@dataclass(frozen=True)
class Requirement:
    """One testable statement."""

    id: str
    area: str
    statement: str
    severity: Severity
    sources: tuple[str, ...]
    observed_at: tuple[Interface, ...]
    party: Party
    #: the Japanese source wording, short, where it helps
    ja: str | None = None
    #: whether the sources state it, or it is the rig's own strictness
    basis: Basis = Basis.SOURCE

    @property
    def source(self) -> str:
        return "; ".join(self.sources)


class UnknownRequirementError(KeyError):
    """An id that is not in the catalogue (a typo in a scenario's marker, usually)."""

    def __init__(self, requirement_id: str, close: list[str]):
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        self.requirement_id = requirement_id
        super().__init__(f"unknown requirement id {requirement_id!r}{hint}")

    def __str__(self) -> str:
        return str(self.args[0])


class Catalogue:
    """The validated catalogue: requirements in file order, areas in declaration order."""

    def __init__(self, areas: Iterable[Area], requirements: Iterable[Requirement]):
        self.areas: Mapping[str, Area] = MappingProxyType({area.code: area for area in areas})
        self.requirements: tuple[Requirement, ...] = tuple(requirements)
        self._by_id = {req.id: req for req in self.requirements}

    def __len__(self) -> int:
        return len(self.requirements)

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self.requirements)

    def __contains__(self, requirement_id: object) -> bool:
        return requirement_id in self._by_id

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    def get(self, requirement_id: str) -> Requirement:
        """The requirement with this id; `UnknownRequirementError` names close ids."""
        try:
            return self._by_id[requirement_id]
        except KeyError:
            close = difflib.get_close_matches(requirement_id, self._by_id, n=3)
            raise UnknownRequirementError(requirement_id, close) from None

    __getitem__ = get

    def area(self, code: str) -> Area:
        try:
            return self.areas[code]
        except KeyError:
            raise KeyError(f"unknown area {code!r}; known: {', '.join(self.areas)}") from None

    def by_area(self, code: str) -> tuple[Requirement, ...]:
        self.area(code)  # an unknown area is a caller's mistake, not an empty group
        return tuple(req for req in self.requirements if req.area == code)

    def by_severity(self, severity: Severity | str) -> tuple[Requirement, ...]:
        wanted = Severity(severity)
        return tuple(req for req in self.requirements if req.severity is wanted)

    def by_interface(self, interface: Interface | str) -> tuple[Requirement, ...]:
        wanted = Interface(interface)
        return tuple(req for req in self.requirements if wanted in req.observed_at)

    def by_party(self, party: Party | str) -> tuple[Requirement, ...]:
        wanted = Party(party)
        return tuple(req for req in self.requirements if req.party is wanted)

    def area_counts(self) -> dict[str, Counter[Severity]]:
        """Per area (declaration order): how many requirements of each severity."""
        counts: dict[str, Counter[Severity]] = {code: Counter() for code in self.areas}
        for req in self.requirements:
            counts[req.area][req.severity] += 1
        return counts

    def unknown_ids(self, requirement_ids: Iterable[str]) -> list[str]:
        """The given ids that name no requirement (for checking scenario markers)."""
        return sorted({rid for rid in requirement_ids if rid not in self._by_id})

    def uncovered(self, covered_ids: Iterable[str]) -> tuple[Requirement, ...]:
        """Requirements that no scenario declares (for "every requirement has a scenario")."""
        covered = set(covered_ids)
        return tuple(req for req in self.requirements if req.id not in covered)

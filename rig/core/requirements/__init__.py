"""The requirement catalogue (要件カタログ): every testable statement, with id, source, severity.

    from rig.core.requirements import load_catalogue
    catalogue = load_catalogue()
    catalogue.get("JPKI-FLOW-005").severity

See docs/requirements.md for the id scheme, the areas and how scenarios declare what they verify.
"""

from rig.core.requirements.loader import (
    CatalogueError,
    default_path,
    load_catalogue,
    parse_catalogue,
    shipped_catalogue,
)
from rig.core.requirements.model import (
    Area,
    Basis,
    Catalogue,
    Interface,
    Party,
    Requirement,
    Severity,
    UnknownRequirementError,
)
from rig.core.requirements.summary import area_table

__all__ = [
    "Area",
    "Basis",
    "Catalogue",
    "CatalogueError",
    "Interface",
    "Party",
    "Requirement",
    "Severity",
    "UnknownRequirementError",
    "area_table",
    "default_path",
    "load_catalogue",
    "parse_catalogue",
    "shipped_catalogue",
]

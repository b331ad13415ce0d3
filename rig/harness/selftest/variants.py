"""The classes a world builds for the topology's `defects:` (the reference ones by default)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, TypeVar

from rig.harness.selftest.pack import Defect, DefectPackError, Party, find

if TYPE_CHECKING:
    from rig.harness.config import Topology

_C = TypeVar("_C", bound=type)


def _variant(defect: Defect, base: _C) -> _C:
    module_name, _, class_name = defect.variant.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise DefectPackError(f"{defect.name}: cannot load {defect.variant}") from exc
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise DefectPackError(f"{defect.name}: {defect.variant} is not a {base.__name__}")
    return cls  # type: ignore[return-value]


def variant_class(topology: Topology | None, party: Party, reference: _C) -> _C:
    """`reference` (the reference kiosk or the emulated issuance server), or the variant of
    it that the topology's defect for `party` names."""
    defects = topology.defects if topology is not None else []
    chosen = [d for d in map(find, defects) if d.party == party]
    return _variant(chosen[0], reference) if chosen else reference

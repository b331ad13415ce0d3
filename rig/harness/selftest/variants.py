"""The classes a world builds for the topology's `defects:` (the reference ones by default)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, TypeVar

from rig.harness.selftest.pack import Defect, DefectPackError, Party, find

if TYPE_CHECKING:
    from emulators.kiosk import ReferenceKiosk
    from emulators.municipal import MunicipalServer
    from rig.harness.config import Topology

_C = TypeVar("_C", bound=type)


def defects_for(topology: Topology | None, party: Party) -> list[Defect]:
    if topology is None:
        return []
    return [d for d in map(find, topology.defects) if d.party == party]


def _variant(defect: Defect, base: _C) -> _C:
    module_name, _, class_name = defect.variant.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise DefectPackError(f"{defect.name}: cannot load {defect.variant}") from exc
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise DefectPackError(f"{defect.name}: {defect.variant} is not a {base.__name__}")
    return cls  # type: ignore[return-value]


def kiosk_class(topology: Topology | None) -> type[ReferenceKiosk]:
    """The reference kiosk, or the variant the topology's kiosk defect names."""
    from emulators.kiosk import ReferenceKiosk

    chosen = defects_for(topology, "kiosk")
    return _variant(chosen[0], ReferenceKiosk) if chosen else ReferenceKiosk


def municipal_class(topology: Topology | None) -> type[MunicipalServer]:
    """The emulated issuance server, or the variant the topology's server defect names."""
    from emulators.municipal import MunicipalServer

    chosen = defects_for(topology, "municipal")
    return _variant(chosen[0], MunicipalServer) if chosen else MunicipalServer

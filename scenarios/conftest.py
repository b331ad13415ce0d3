"""Fixtures for the conformance scenarios: the emulated world, started per scenario.

- `world`: every party, with the reference kiosk as the device under test and a `Customer`
  (world.customer) that uses it as a person would. `@pytest.mark.world(**WorldOptions)`
  adjusts it (cash faults, kiosk or centre settings, marks).
- `backend`: every party but the kiosk: scenarios that play the kiosk themselves (the
  事前評価ツール role) talk to the centre through `scenarios.support.KioskSide`.
- `counter`: a test resident's hidden facts and registry changes, on the emulated or an
  external issuance server (mark the scenario `municipal_registry`).

JPKI keys are slow to derive and registries slow to generate, so the scenario PKI and the
generated registries are cached under build/ across runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.pcsc import VirtualCardSlot
from rig.core.pki.jpki import JpkiAuthority
from rig.core.pki.tls import TlsMaterial
from rig.harness.config import Topology
from rig.harness.municipal_registry import Counter
from rig.harness.world import World, WorldOptions

SCENARIO_SEED = "konbini-scenarios"
PKI_FOLDER = Path("build/test-pki/scenarios")
REGISTRY_FOLDER = Path("build/test-registry/scenarios")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "world(**options): WorldOptions for this scenario's world")


@pytest.fixture(scope="session")
def scenario_pki(tmp_path_factory: pytest.TempPathFactory) -> JpkiAuthority:
    state = tmp_path_factory.mktemp("scenario-jpki-state")
    return JpkiAuthority.load_or_create(PKI_FOLDER, SCENARIO_SEED, state_dir=state)


@pytest.fixture(scope="session")
def scenario_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return TlsMaterial(tmp_path_factory.mktemp("scenario-tls"), seed=SCENARIO_SEED)


@pytest.fixture(scope="session")
def registry_cache() -> Path:
    """Generated registries, kept under build/ across runs like the PKI (generating one costs
    a second per worker session). A file's name is the hash of what it is generated from
    (seed, reference date, municipalities); the folder's is the hash of the generator's
    package, so a change to the code never meets a stale registry. Files are written
    atomically and never changed: each world works on its own copy."""
    import hashlib

    import emulators.municipal

    package = Path(emulators.municipal.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix != ".pyc":
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return REGISTRY_FOLDER / digest.hexdigest()[:16]


def _options(request: pytest.FixtureRequest, **defaults: object) -> WorldOptions:
    marker = request.node.get_closest_marker("world")
    settings = {**defaults, **(dict(marker.kwargs) if marker else {})}
    known = {f.name for f in fields(WorldOptions)}
    unknown = set(settings) - known
    if unknown:
        raise pytest.UsageError(f"{request.node.nodeid}: unknown world options {sorted(unknown)}")
    return WorldOptions(**settings)


@pytest.fixture
def world(
    tmp_path: Path,
    rig_clock: RigClock,
    evidence: EvidenceStore,
    card_slot: VirtualCardSlot,
    scenario_pki: JpkiAuthority,
    scenario_tls: TlsMaterial,
    registry_cache: Path,
    topology: Topology,
    request: pytest.FixtureRequest,
) -> Iterator[World]:
    """Every party, the reference kiosk as the device under test."""
    options = _options(
        request, seed=SCENARIO_SEED, registry_cache=registry_cache, topology=topology
    )
    w = World.build(
        tmp_path, rig_clock, evidence, slot=card_slot, authority=scenario_pki,
        tls=scenario_tls, options=options,
    )  # fmt: skip
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture
def backend(
    tmp_path: Path,
    rig_clock: RigClock,
    evidence: EvidenceStore,
    scenario_pki: JpkiAuthority,
    scenario_tls: TlsMaterial,
    registry_cache: Path,
    topology: Topology,
    request: pytest.FixtureRequest,
) -> Iterator[World]:
    """Every party but the kiosk: the scenario plays the kiosk (and the card) itself."""
    options = _options(
        request, seed=SCENARIO_SEED, registry_cache=registry_cache, with_kiosk=False,
        topology=topology,
    )  # fmt: skip
    w = World.build(
        tmp_path, rig_clock, evidence, slot=None, authority=scenario_pki, tls=scenario_tls,
        options=options,
    )  # fmt: skip
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture
def counter(backend: World) -> Iterator[Counter]:
    """The issuance server's counter (窓口): a test resident's hidden facts and changes to the
    registry, undone when the scenario ends (rig/harness/municipal_registry.py)."""
    desk = Counter(backend)
    try:
        yield desk
    finally:
        desk.restore()

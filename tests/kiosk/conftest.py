"""Fixtures for the reference kiosk's tests: a whole world per test, on real transports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.pcsc import VirtualCardSlot
from rig.core.pki.jpki import JpkiAuthority
from rig.core.pki.tls import TlsMaterial
from rig.harness.world import World as KioskWorld
from rig.harness.world import WorldOptions

KIOSK_TEST_SEED = "kiosk-tests"
#: JPKI keys are slow to derive: cached under build/ across runs, like the card tests.
PKI_FOLDER = Path("build/test-pki/kiosk")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "world(**options): options for the kiosk test world (KioskWorld.build)"
    )


@pytest.fixture(scope="session")
def kiosk_pki(tmp_path_factory: pytest.TempPathFactory) -> JpkiAuthority:
    state = tmp_path_factory.mktemp("kiosk-jpki-state")
    return JpkiAuthority.load_or_create(PKI_FOLDER, KIOSK_TEST_SEED, state_dir=state)


@pytest.fixture(scope="session")
def kiosk_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return TlsMaterial(tmp_path_factory.mktemp("kiosk-tls"), seed=KIOSK_TEST_SEED)


@pytest.fixture(scope="session")
def registry_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kiosk-registry-cache")


@pytest.fixture
def world(
    tmp_path: Path,
    rig_clock: RigClock,
    evidence: EvidenceStore,
    card_slot: VirtualCardSlot,
    kiosk_pki: JpkiAuthority,
    kiosk_tls: TlsMaterial,
    registry_cache: Path,
    request: pytest.FixtureRequest,
) -> Iterator[KioskWorld]:
    """Every party started for this test; `@pytest.mark.world(cash_faults=...)` adjusts it.

    The kiosk's own tests use the centre's layout-only stage: the full anti-forgery marks are
    the scenarios' business (scenarios/test_antiforgery.py) and cost ~0.3 s per page.
    """
    marker = request.node.get_closest_marker("world")
    settings: dict[str, Any] = {
        "seed": KIOSK_TEST_SEED,
        "registry_cache": registry_cache,
        "marks": "layout",
        "with_verification_site": False,
        **(dict(marker.kwargs) if marker else {}),
    }
    w = KioskWorld.build(
        tmp_path, rig_clock, evidence, slot=card_slot, authority=kiosk_pki, tls=kiosk_tls,
        options=WorldOptions(**settings),
    )  # fmt: skip
    try:
        yield w
    finally:
        w.stop()

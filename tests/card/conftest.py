"""Fixtures for the card tests: one test JPKI per session, cached under build/ across runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.core.pki.jpki import JpkiAuthority

CARD_TEST_SEED = "card-tests"
PKI_FOLDER = Path("build/test-pki/card")


@pytest.fixture(scope="session")
def jpki_authority(tmp_path_factory: pytest.TempPathFactory) -> JpkiAuthority:
    """Shared by every card test; keys are derived once and reused from the cache."""
    state = tmp_path_factory.mktemp("card-jpki-state")
    return JpkiAuthority.load_or_create(PKI_FOLDER, CARD_TEST_SEED, state_dir=state)

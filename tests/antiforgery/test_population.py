"""Over many generated certificates: latent image on 100 % of originals, 0 % of copies.

`make test` runs 20 certificates; the 200-certificate campaign is marked slow (make soak /
`pytest -m slow tests/antiforgery`). Copies are made by copiers drawn at random from the
office-copier family of docs/antiforgery.md (150–600 dpi, σ 0.07–0.10 mm, threshold
100–128), a different one per certificate. Figures go to the test's evidence.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pytest

from rig.core.antiforgery import (
    INVISIBLE_BELOW,
    VISIBLE_ABOVE,
    apply_marks,
    copier,
    detect_latent,
    inspect_side,
    kensei_contrast,
)
from rig.core.antiforgery.specimen import certificate_page
from rig.core.evidence import EvidenceStore


@dataclass
class Tally:
    n: int = 0
    originals_found: int = 0
    copies_found: int = 0
    copies_caught: int = 0
    min_original_score: float = 1.0
    max_copy_score: float = -1.0
    max_original_kensei: float = -1.0
    min_default_copy_kensei: float = 1.0


def _run(count: int, first_seed: int) -> Tally:
    tally = Tally()
    for seed in range(first_seed, first_seed + count):
        key = hashlib.sha256(b"population key %d" % seed).digest()
        front, back = apply_marks(certificate_page(seed), key, f"POP-{seed:06d}")
        rng = np.random.default_rng(seed)
        dpi = float(rng.uniform(150, 600))
        blur = float(rng.uniform(0.07, 0.10))
        threshold = float(rng.uniform(100, 128))
        for side in (front, back):
            tally.n += 1
            original = detect_latent(side)
            tally.originals_found += original.found
            tally.min_original_score = min(tally.min_original_score, original.score)
            tally.max_original_kensei = max(tally.max_original_kensei, kensei_contrast(side))
            copy = copier(side, dpi=dpi, blur=blur, threshold=threshold)
            copied = inspect_side(copy)
            tally.copies_found += copied.latent.found
            tally.copies_caught += copied.looks_copied
            tally.max_copy_score = max(tally.max_copy_score, copied.latent.score)
            default_copy = kensei_contrast(copier(side))
            tally.min_default_copy_kensei = min(tally.min_default_copy_kensei, default_copy)
    return tally


def _check(tally: Tally, evidence: EvidenceStore) -> None:
    evidence.record("antiforgery", "population", **vars(tally))
    assert tally.originals_found == tally.n, tally
    assert tally.copies_found == 0, tally
    assert tally.copies_caught == tally.n, tally
    assert tally.max_original_kensei < INVISIBLE_BELOW, tally
    assert tally.min_default_copy_kensei > VISIBLE_ABOVE, tally


def test_twenty_certificates(evidence: EvidenceStore) -> None:
    _check(_run(20, first_seed=1000), evidence)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # about 6 minutes on a quiet 2-core machine: past the 300 s default
def test_two_hundred_certificates(request: pytest.FixtureRequest, evidence: EvidenceStore) -> None:
    markexpr = str(request.config.getoption("markexpr", ""))
    if "slow" not in markexpr or "not slow" in markexpr:
        pytest.skip("about 6 minutes: run with -m slow (make soak)")
    _check(_run(200, first_seed=2000), evidence)

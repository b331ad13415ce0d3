"""A defect pack for the selftest's own tests: a variant that changes nothing.

Loaded through `RIG_DEFECT_PACKS=tests.selftest.noop_pack`; no scenario can catch it, so a
selftest that runs it must fail.
"""

from __future__ import annotations

from emulators.municipal import MunicipalServer
from rig.harness.selftest.pack import Defect


class NoOpServer(MunicipalServer):
    """Exactly the emulated issuance server."""


DEFECTS = (
    Defect(
        "test-no-op", "municipal", "tests.selftest.noop_pack:NoOpServer", "refusals",
        "nothing (a test of the selftest)", "changes nothing", ("CERT-020",),
    ),
)  # fmt: skip

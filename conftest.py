"""Project-wide pytest configuration.

The rig's own fixtures come from rig.harness.pytest_plugin.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Only where hypothesis's plugin is loaded (the rig's own tests; `rig run` leaves it out):
    # importing hypothesis costs each process about 0.6 s, and no scenario uses it.
    if not config.pluginmanager.has_plugin("hypothesispytest"):
        return
    from hypothesis import HealthCheck, settings

    # Fuzz tests drive real sockets, ptys and servers: per-example time varies with machine
    # load, so hypothesis deadlines would only add flakiness. Counts are set per test via
    # rig.harness.fuzz.
    settings.register_profile(
        "rig",
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=True,
    )
    settings.load_profile("rig")

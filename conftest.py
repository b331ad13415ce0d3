"""Project-wide pytest configuration.

The rig's own fixtures come from rig.harness.pytest_plugin.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Fuzz tests drive real sockets, ptys and servers: per-example time varies with machine load,
# so hypothesis deadlines would only add flakiness. Counts are set per test via rig.harness.fuzz.
settings.register_profile(
    "rig",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.load_profile("rig")

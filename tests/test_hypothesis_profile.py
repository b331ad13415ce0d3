"""The rig's hypothesis profile is the one the fuzz tests run under (conftest.py)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def test_fuzz_tests_run_without_deadlines_and_derandomised() -> None:
    # real sockets and ptys: per-example time follows the machine's load, not the code
    active = settings.default
    assert active is not None
    assert active.deadline is None
    assert active.derandomize
    assert HealthCheck.too_slow in active.suppress_health_check

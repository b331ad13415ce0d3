"""A pytest plugin for the selftest: keep only the plan's scenarios that verify given
requirements (`-p rig.harness.selftest.selection --rig-selftest-requirements=PAY-004,PAY-013`).

It runs after the rig plugin has applied the plan, so the selection is always a subset of
the plan the defect's owner would run.
"""

from __future__ import annotations

import pytest

from rig.harness.pytest_plugin import requirement_ids

OPTION = "--rig-selftest-requirements"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("rig").addoption(
        OPTION, default="", help="comma-separated requirement ids (rig selftest)"
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = {r.strip() for r in str(config.getoption(OPTION)).split(",") if r.strip()}
    if not wanted:
        return
    kept = [i for i in items if wanted & set(requirement_ids(i))]
    kept_ids = {id(i) for i in kept}
    dropped = [i for i in items if id(i) not in kept_ids]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept

"""Where a load run's CPU goes: the world process, the load generator, the judge.

On a machine with few cores the issuance rate is set by CPU time per transaction, not by
waiting; `CpuMeter` reads the CPU seconds (user + system, psutil) of this Locust process
and of the world process (with its separate issuance server, if any) between the start
and the end of the run, and the judge's own share is counted by the users (process time
around each judgement, `Tally.judge_cpu_us`). A worker's generator time stays with the
worker: a master reports its own only.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import psutil


def _cpu_seconds(process: psutil.Process | None, tree: bool = False) -> float | None:
    """User + system CPU seconds of `process` (and, with `tree`, of its live descendants:
    the world's separate issuance server)."""
    if process is None:
        return None
    try:
        members = [process, *(process.children(recursive=True) if tree else [])]
        total = 0.0
        for member in members:
            with suppress(psutil.Error):
                times = member.cpu_times()
                total += times.user + times.system
    except psutil.Error:
        return None
    return total


class CpuMeter:
    def __init__(self, world_pid: int | None):
        self.me = psutil.Process()
        self.world: psutil.Process | None = None
        if world_pid is not None:
            with suppress(psutil.Error):
                self.world = psutil.Process(world_pid)
        self.begin = (_cpu_seconds(self.me), _cpu_seconds(self.world, tree=True))
        self.end: tuple[float | None, float | None] = (None, None)

    def stop(self) -> None:
        """Read the end figures (before the world process is stopped)."""
        self.end = (_cpu_seconds(self.me), _cpu_seconds(self.world, tree=True))

    def figures(self, transactions: int, judge_cpu_us: int) -> dict[str, Any]:
        def spent(i: int) -> float | None:
            a, b = self.begin[i], self.end[i]
            return None if a is None or b is None else round(b - a, 2)

        def per_tx(seconds: float | None) -> float | None:
            if seconds is None or not transactions:
                return None
            return round(seconds * 1000 / transactions, 1)

        generator, world = spent(0), spent(1)
        judge = round(judge_cpu_us / 1e6, 2)
        return {
            "transactions": transactions,
            "world_s": world,
            "generator_s": generator,
            "judge_s": judge,
            "world_ms_per_transaction": per_tx(world),
            "generator_ms_per_transaction": per_tx(generator),
            "judge_ms_per_transaction": per_tx(judge),
            "cores": psutil.cpu_count(),
        }

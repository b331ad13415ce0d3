"""Validation package speed: create and verify the package of a 64 MB report (2,000 files)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from rig.harness.bench import Figure
from rig.harness.validation.marker import write_marker
from rig.harness.validation.package import create_package, verify_package
from rig.harness.validation.signing import write_self_signed_signer

FILES = 2000
FILE_BYTES = 32 * 1024


def measure() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-package-") as tmp:
        folder = Path(tmp)
        report = folder / "report"
        for i in range(FILES):
            path = report / "evidence" / f"scenario_{i // 20:03d}" / f"trace_{i}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(FILE_BYTES))  # incompressible: gzip does full work
        write_marker(report, {"finished": True, "plan": {"name": "bench"}, "verdict": "pass"})
        key, cert = write_self_signed_signer(folder, "bench")
        archive = folder / "p.tar.gz"
        start = time.perf_counter()
        create_package(report, archive, key, cert)
        created = time.perf_counter() - start
        start = time.perf_counter()
        result = verify_package(archive, [cert])
        verified = time.perf_counter() - start
        if not result.ok:
            raise RuntimeError(f"bench package does not verify: {result.problems[:3]}")
        megabytes = FILES * FILE_BYTES / 1e6
        return [
            Figure("package_create_64mb_s", created, "s"),
            Figure("package_verify_64mb_s", verified, "s"),
            Figure("package_verify_throughput", megabytes / verified, "MB/s"),
        ]

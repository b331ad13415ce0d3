"""Validation package speed: create and verify the package of a 64 MB report (2,000 files)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from rig.harness.bench import Figure
from rig.harness.validation.marker import write_marker
from rig.harness.validation.package import create_package, verify_package

FILES = 2000
FILE_BYTES = 32 * 1024


def _signer(folder: Path) -> tuple[Path, Path]:
    from datetime import UTC, datetime, timedelta

    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")])
    now = datetime.now(UTC)  # certificate validity only
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .sign(key, None)
    )
    key_path, cert_path = folder / "k.pem", folder / "c.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def measure() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-package-") as tmp:
        folder = Path(tmp)
        report = folder / "report"
        for i in range(FILES):
            path = report / "evidence" / f"scenario_{i // 20:03d}" / f"trace_{i}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(FILE_BYTES))  # incompressible: gzip does full work
        write_marker(report, {"finished": True, "plan": {"name": "bench"}, "verdict": "pass"})
        key, cert = _signer(folder)
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

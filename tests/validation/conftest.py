"""Signers (keys and certificates) and finished runs for the validation-package tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from rig.harness.config import load_topology
from rig.harness.plans import load_plan
from rig.harness.validation.run_record import RunRecord

NOW = datetime.now(UTC)


@dataclass(frozen=True)
class Signer:
    key: Path
    cert: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    public: object,
    issuer: str,
    issuer_key: object,
    *,
    ca: bool,
    not_after: datetime | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(not_after or NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, algorithm)  # type: ignore[arg-type]


def write_signer(
    folder: Path,
    name: str,
    *,
    issuer: tuple[str, object] | None = None,
    ecdsa: bool = False,
    not_after: datetime | None = None,
) -> Signer:
    key = ec.generate_private_key(ec.SECP256R1()) if ecdsa else ed25519.Ed25519PrivateKey.generate()
    issuer_name, issuer_key = issuer or (name, key)
    cert = _cert(name, key.public_key(), issuer_name, issuer_key, ca=False, not_after=not_after)
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / f"{name}.key.pem", folder / f"{name}.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Signer(key_path, cert_path)


def write_ca(folder: Path, name: str) -> tuple[Path, tuple[str, object]]:
    key = ed25519.Ed25519PrivateKey.generate()
    cert = _cert(name, key.public_key(), name, key, ca=True)
    path = folder / f"{name}.pem"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, (name, key)


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return write_signer(tmp_path / "pki", "rig-operator")


def finish_run(
    report_dir: Path,
    ledger: Path,
    *,
    plan: str = "kiosk-conformance",
    exit_code: int = 0,
    out_of_order: bool = False,
) -> RunRecord:
    """What `rig run` leaves once a run has finished, without running scenarios: the report
    files a run writes, then the run record's ledger entry and marker (the real code)."""
    record = RunRecord.begin(
        load_plan(plan), load_topology(None), None, ledger, allow_out_of_order=out_of_order
    )
    (report_dir / "evidence" / "test_a").mkdir(parents=True)
    (report_dir / "evidence" / "test_a" / "apdu.log").write_text("00A4040C\n", encoding="utf-8")
    (report_dir / "index.html").write_text("<h1>PASS</h1>", encoding="utf-8")
    (report_dir / "summary.json").write_text('{"verdict": "pass"}', encoding="utf-8")
    summary = {
        "verdict": "pass" if exit_code == 0 else "fail",
        "tests": 2,
        "totals": {"passed": 2},
        "new_failures": [] if exit_code == 0 else [{"nodeid": "x"}],
    }
    record.finish(
        report_dir,
        summary,
        exit_code,
        {"rig": "0.1.0"},
        narrowed=None,
        expected_failures=None,
    )
    return record


@pytest.fixture
def finished_run(tmp_path: Path) -> Path:
    report_dir = tmp_path / "reports" / "latest"
    finish_run(report_dir, tmp_path / "reports" / "plan-ledger.jsonl")
    return report_dir

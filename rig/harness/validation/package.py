"""The validation package: one signed archive of a finished run (docs/validation-package.md).

Layout of the archive (tar, gzip):

    MANIFEST.json       what the package is, and the SHA-256 and size of every other file
    MANIFEST.sig        base64 signature over MANIFEST.json's exact bytes
    signer.pem          the signer's certificate
    report/…            the report folder as the run left it (evidence, run-finished.json)
    run/plan.yaml       the plan used; run/topology.yaml the topology used
    run/device.json     the device under test (kiosk: GET /info; server: its URL)
    run/versions.json   the rig's and its tools' versions, the requirement catalogue's version
    run/plan-order.json the device's passed stages in order (seed II.5), and this run's place
    run/expected-failures.yaml  the vendor's expected failures, when the run used them
    run/municipal-test-data.yaml  an external issuance server's test data, when there was one

`verify` reads the archive as a stream (nothing is extracted) and names every problem:
each file altered, removed or added against the manifest, a bad signature, an untrusted
signer, an archive that is not a package.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import tarfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from rig.core.pki.certificates import UNREADABLE_CERTIFICATE, fully_parsed
from rig.harness.validation.digests import sha256_stream
from rig.harness.validation.marker import MARKER, MarkerError, changes_since_finish, read_marker
from rig.harness.validation.signing import (
    check_pair,
    fingerprint,
    load_certificates,
    load_signing_key,
    sign,
    signature_valid,
    trust_problem,
)

MANIFEST = "MANIFEST.json"
SIGNATURE = "MANIFEST.sig"
SIGNER = "signer.pem"
META_FILES = (MANIFEST, SIGNATURE, SIGNER)
KIND = "konbini-rig validation package"
FORMAT = 1
#: The manifest, signature and certificate are small; a bigger one is not ours.
MAX_META_BYTES = 32 * 1024 * 1024


class PackageRefused(RuntimeError):
    """`create` will not package this folder (no finished run, or changed since)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _HashingReader(io.RawIOBase):
    """Hands a file to tarfile while hashing exactly the bytes archived."""

    def __init__(self, fh: IO[bytes]):
        self.fh, self.digest, self.size = fh, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data


def _add(tar: tarfile.TarFile, name: str, fh: IO[bytes], size: int, mtime: float) -> dict[str, Any]:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o644
    reader = _HashingReader(fh)
    tar.addfile(info, reader)
    return {"sha256": reader.digest.hexdigest(), "size": reader.size}


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> dict[str, Any]:
    return _add(tar, name, io.BytesIO(data), len(data), mtime)


def _add_file(tar: tarfile.TarFile, name: str, path: Path, mtime: float) -> dict[str, Any]:
    with path.open("rb") as fh:
        return _add(tar, name, fh, path.stat().st_size, mtime)


def _run_files(marker: dict[str, Any]) -> dict[str, bytes]:
    def js(value: Any) -> bytes:
        return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode()

    plan, topology = marker.get("plan") or {}, marker.get("topology") or {}
    files = {
        "run/plan.yaml": str(plan.get("text", "")).encode(),
        "run/topology.yaml": str(topology.get("text", "")).encode(),
        "run/device.json": js(marker.get("device")),
        "run/versions.json": js(
            {"versions": marker.get("versions"), "catalogue": marker.get("catalogue")}
        ),
        "run/plan-order.json": js(marker.get("order")),
    }
    if topology.get("municipal_test_data") is not None:
        files["run/municipal-test-data.yaml"] = str(topology["municipal_test_data"]).encode()
    if marker.get("expected_failures_text") is not None:
        files["run/expected-failures.yaml"] = str(marker["expected_failures_text"]).encode()
    return files


def create_package(
    report_dir: Path, output: Path, key_path: Path, cert_path: Path
) -> dict[str, Any]:
    """Write the package of the finished run in `report_dir`; return its manifest.

    Raises `SigningInputError` (bad key/certificate), `PackageRefused` (no finished run, or
    the folder changed since the run finished) or `ValueError` (where the output would go)."""
    report_dir, output = Path(report_dir).resolve(), Path(output).resolve()
    key = load_signing_key(key_path)
    [cert, *_] = load_certificates(cert_path)
    check_pair(key, cert, key_path, cert_path)
    if output.is_relative_to(report_dir):
        raise ValueError(f"{output}: the package cannot be written inside the report folder")
    if output.is_dir():
        raise ValueError(f"{output}: a folder; give the archive's file name")
    try:
        marker = read_marker(report_dir)
    except MarkerError as exc:
        raise PackageRefused([str(exc)]) from exc
    changed = changes_since_finish(report_dir, marker)
    if changed:
        raise PackageRefused([f"{report_dir}: {p}" for p in changed])

    created = datetime.now(UTC).replace(microsecond=0)
    mtime = created.timestamp()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    files: dict[str, dict[str, Any]] = {}
    try:
        with tarfile.open(tmp, "w:gz", compresslevel=6, format=tarfile.PAX_FORMAT) as tar:
            for rel in sorted([*marker["files"], MARKER]):
                files[f"report/{rel}"] = _add_file(tar, f"report/{rel}", report_dir / rel, mtime)
            for name, data in _run_files(marker).items():
                files[name] = _add_bytes(tar, name, data, mtime)
            moved = [
                rel
                for rel, digest in marker["files"].items()
                if files[f"report/{rel}"]["sha256"] != digest
            ]
            if moved:
                raise PackageRefused([f"changed while packaging: report/{rel}" for rel in moved])
            manifest = {
                "kind": KIND,
                "format": FORMAT,
                "created_at": created.isoformat(),
                "plan": (marker.get("plan") or {}).get("name"),
                "verdict": marker.get("verdict"),
                "device": marker.get("device"),
                "order": _order_summary(marker.get("order")),
                "signer": {"subject": cert.subject.rfc4514_string(), "sha256": fingerprint(cert)},
                "files": dict(sorted(files.items())),
            }
            body = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()
            _add_bytes(tar, MANIFEST, body, mtime)
            _add_bytes(tar, SIGNATURE, base64.b64encode(sign(key, body)) + b"\n", mtime)
            _add_bytes(tar, SIGNER, cert.public_bytes(Encoding.PEM), mtime)
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    return manifest


def _order_summary(order: Any) -> dict[str, Any] | None:
    """The plan order in brief, for the manifest (the full ledger is in run/plan-order.json)."""
    if not isinstance(order, dict):
        return None
    keep = ("stage", "out_of_order", "missing", "outcome", "passed_in_order")
    return {k: order.get(k) for k in keep if k in order}


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _safe_name(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts


def _read_archive(archive: Path, result: Verification) -> tuple[dict[str, str], dict[str, bytes]]:
    """Digests of every file in the archive and the bytes of the three meta files."""
    digests: dict[str, str] = {}
    meta: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = member.name
                if member.isdir():
                    continue
                if not member.isfile() or not _safe_name(name):
                    result.problems.append(f"not allowed in a package: {name!r} ({member.type!r})")
                    continue
                if name in digests:
                    result.problems.append(f"appears twice in the archive: {name}")
                    continue
                fh = tar.extractfile(member)
                assert fh is not None  # a regular file
                if name in META_FILES:
                    if member.size > MAX_META_BYTES:
                        result.problems.append(f"{name}: too large ({member.size} bytes)")
                        continue
                    meta[name] = fh.read()
                    digests[name] = ""
                else:
                    digests[name] = sha256_stream(fh)
            # tarfile stops at the end-of-archive blocks; reading on checks the gzip trailer
            # (CRC, length) and catches bytes after it
            rest = tar.fileobj
            while rest is not None and rest.read(1 << 20):
                pass
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        result.problems.append(f"{archive}: not a readable package archive ({exc})")
    return digests, meta


def verify_package(archive: Path, trust_paths: list[Path]) -> Verification:
    """Check `archive` against the trusted certificates; every problem is listed.

    Raises `SigningInputError` only for the caller's own input (an unreadable trust file);
    anything wrong with the archive is a problem in the result."""
    trusted: list[x509.Certificate] = []
    for path in trust_paths:
        trusted += load_certificates(path)
    result = Verification()
    if not Path(archive).is_file():
        result.problems.append(f"{archive}: no such package file")
        return result
    digests, meta = _read_archive(Path(archive), result)
    for name in META_FILES:
        if name not in meta and not any(name in p for p in result.problems):
            result.problems.append(f"missing: {name}")
    manifest = _manifest(meta.get(MANIFEST), result)
    signer = _signer(meta.get(SIGNER), result)
    signed = False
    if manifest is not None and signer is not None and SIGNATURE in meta:
        try:
            signature = base64.b64decode(meta[SIGNATURE].strip(), validate=True)
        except (binascii.Error, ValueError):
            result.problems.append(f"{SIGNATURE}: not base64")
        else:
            signed = signature_valid(signer, signature, meta[MANIFEST])
            if not signed:
                result.problems.append(
                    f"bad signature: {SIGNATURE} does not verify {MANIFEST} with the key of "
                    f"{SIGNER} (the manifest or the signature was altered)"
                )
    if signer is not None:
        when = _signed_at(manifest) if signed else None
        problem = trust_problem(signer, trusted, when)
        if problem:
            result.problems.append(problem)
    if manifest is not None:
        listed = manifest["files"]
        result.files = len(listed)
        for name in sorted(listed):
            if name not in digests:
                result.problems.append(f"removed: {name}")
            elif digests[name] != listed[name].get("sha256"):
                result.problems.append(f"altered: {name}")
        for name in sorted(digests):
            if name not in listed and name not in META_FILES:
                result.problems.append(f"added: {name}")
        if f"report/{MARKER}" not in listed:
            result.problems.append(
                f"not the package of a finished run: the manifest lists no report/{MARKER}"
            )
        result.manifest = manifest
    return result


def _manifest(raw: bytes | None, result: Verification) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        result.problems.append(f"{MANIFEST}: not JSON ({exc})")
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("kind") != KIND
        or not isinstance(files, dict)
        or not all(isinstance(v, dict) for v in files.values())
    ):
        result.problems.append(f"{MANIFEST}: not the manifest of a {KIND}")
        return None
    return data


def _signer(raw: bytes | None, result: Verification) -> x509.Certificate | None:
    if raw is None:
        return None
    try:
        return fully_parsed(x509.load_pem_x509_certificate(raw))
    except UNREADABLE_CERTIFICATE as exc:
        result.problems.append(f"{SIGNER}: not a PEM certificate ({exc})")
        return None


def _signed_at(manifest: dict[str, Any] | None) -> datetime | None:
    try:
        return datetime.fromisoformat(str((manifest or {}).get("created_at")))
    except ValueError:
        return None

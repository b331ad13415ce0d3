"""`rig package create` / `verify`: a signed archive of a finished run, and every way to break it."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from rig.harness.cli import app
from rig.harness.validation.marker import MARKER
from tests.validation.conftest import Signer, write_ca, write_signer

runner = CliRunner()


def rig(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, " ".join(result.output.split())


def create(report: Path, out: Path, signer: Signer) -> tuple[int, str]:
    return rig(
        "package", "create", report, "--output", out, "--key", signer.key, "--cert", signer.cert
    )


def problems(output: str) -> list[str]:
    """The problems verify named, one per FAIL line."""
    return [p.strip() for p in output.split("FAIL ")[1:]]


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def rewrite(archive: Path, change: Callable[[dict[str, bytes]], object]) -> None:
    files = members(archive)
    change(files)
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def package(finished_run: Path, signer: Signer, tmp_path: Path) -> Path:
    out = tmp_path / "out" / "package.tar.gz"
    code, output = create(finished_run, out, signer)
    assert code == 0, output
    return out


def test_round_trip_holds_the_run_and_verifies(package: Path, signer: Signer) -> None:
    files = members(package)
    assert {"report/index.html", "report/evidence/test_a/apdu.log", f"report/{MARKER}"} <= set(
        files
    )
    assert {"run/plan.yaml", "run/topology.yaml", "run/device.json", "run/versions.json"} <= set(
        files
    )
    assert b"name: kiosk-conformance" in files["run/plan.yaml"]
    device = json.loads(files["run/device.json"])
    assert device["vendor"] == "Konbini Rig" and device["build_hash"]
    versions = json.loads(files["run/versions.json"])
    assert versions["versions"]["rig"] == "0.1.0" and len(versions["catalogue"]["sha256"]) == 64
    manifest = json.loads(files["MANIFEST.json"])
    assert set(manifest["files"]) == set(files) - {"MANIFEST.json", "MANIFEST.sig", "signer.pem"}
    code, output = rig("package", "verify", package, "--trust", signer.cert)
    assert code == 0, output
    assert "OK" in output and "kiosk-conformance" in output
    assert (
        "stage kiosk-conformance (in order); stages passed, in order: kiosk-conformance" in output
    )
    assert manifest["order"]["outcome"] == "passed"


def test_a_signed_manifest_without_the_finished_run_marker_is_refused(
    package: Path, signer: Signer
) -> None:
    """Even the trusted signer cannot vouch for a report with no finished-run marker."""
    from rig.harness.validation.signing import load_signing_key, sign

    def change(files: dict[str, bytes]) -> None:
        manifest = json.loads(files["MANIFEST.json"])
        del manifest["files"][f"report/{MARKER}"]
        files.pop(f"report/{MARKER}")
        files["MANIFEST.json"] = json.dumps(manifest).encode()
        signature = sign(load_signing_key(signer.key), files["MANIFEST.json"])
        files["MANIFEST.sig"] = base64.b64encode(signature)

    rewrite(package, change)
    code, output = rig("package", "verify", package, "--trust", signer.cert)
    assert code == 1
    assert problems(output.split(f"{package}:")[0]) == [
        f"not the package of a finished run: the manifest lists no report/{MARKER}"
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda f: f.update({"report/index.html": b"<h1>PASS (edited)</h1>"}),
            ["altered: report/index.html"],
        ),
        (
            lambda f: f.pop("report/evidence/test_a/apdu.log"),
            ["removed: report/evidence/test_a/apdu.log"],
        ),
        (
            lambda f: f.update({"report/evidence/extra.log": b"x"}),
            ["added: report/evidence/extra.log"],
        ),
    ],
    ids=["altered", "removed", "added"],
)
def test_verify_names_exactly_each_changed_file(
    package: Path, signer: Signer, change: Callable[[dict[str, bytes]], object], expected: list[str]
) -> None:
    rewrite(package, change)
    code, output = rig("package", "verify", package, "--trust", signer.cert)
    assert code == 1
    assert problems(output.split(f"{package}:")[0]) == expected


def test_verify_names_several_changes_at_once(package: Path, signer: Signer) -> None:
    def change(files: dict[str, bytes]) -> None:
        files["run/device.json"] = b'{"vendor": "someone else"}'
        files.pop("report/summary.json")
        files["notes.txt"] = b"hello"

    rewrite(package, change)
    code, output = rig("package", "verify", package, "--trust", signer.cert)
    assert code == 1
    assert set(problems(output.split(f"{package}:")[0])) == {
        "altered: run/device.json",
        "removed: report/summary.json",
        "added: notes.txt",
    }


def test_a_wrong_trust_certificate_is_named(package: Path, tmp_path: Path) -> None:
    other = write_signer(tmp_path / "other", "someone-else")
    code, output = rig("package", "verify", package, "--trust", other.cert)
    assert code == 1
    [problem] = problems(output.split(f"{package}:")[0])
    assert problem.startswith("untrusted signer: certificate 'CN=rig-operator'")


def test_a_signer_issued_by_a_trusted_ca_is_trusted_and_another_ca_is_not(
    finished_run: Path, tmp_path: Path
) -> None:
    ca, issuer = write_ca(tmp_path / "ca", "rig-operators-ca")
    other_ca, _ = write_ca(tmp_path / "ca2", "other-ca")
    leaf = write_signer(tmp_path / "leaf", "operator-7", issuer=issuer, ecdsa=True)
    out = tmp_path / "p.tar.gz"
    assert create(finished_run, out, leaf)[0] == 0
    assert rig("package", "verify", out, "--trust", ca)[0] == 0
    code, output = rig("package", "verify", out, "--trust", other_ca)
    assert code == 1 and "untrusted signer" in output


def test_a_tampered_manifest_is_a_bad_signature(package: Path, signer: Signer) -> None:
    def change(files: dict[str, bytes]) -> None:
        manifest = json.loads(files["MANIFEST.json"])
        manifest["files"]["report/index.html"]["sha256"] = "0" * 64
        manifest["verdict"] = "pass"
        files["MANIFEST.json"] = json.dumps(manifest).encode()

    rewrite(package, change)
    code, output = rig("package", "verify", package, "--trust", signer.cert)
    assert code == 1
    found = problems(output.split(f"{package}:")[0])
    assert found[0].startswith("bad signature: MANIFEST.sig does not verify MANIFEST.json")
    assert "altered: report/index.html" in found


def test_a_tampered_or_missing_signature_is_named(package: Path, signer: Signer) -> None:
    original = members(package)["MANIFEST.sig"]
    rewrite(package, lambda f: f.update({"MANIFEST.sig": original[:10] + b"AAAA" + original[14:]}))
    code, output = rig("package", "verify", package, "--trust", signer.cert)
    assert code == 1 and "bad signature" in output
    rewrite(package, lambda f: f.pop("MANIFEST.sig"))
    code, output = rig("package", "verify", package, "--trust", signer.cert)
    assert code == 1 and problems(output.split(f"{package}:")[0]) == ["missing: MANIFEST.sig"]


def test_a_package_signed_by_another_key_with_the_trusted_certificate_fails(
    package: Path, signer: Signer, tmp_path: Path
) -> None:
    """Swapping in a forger's signature and certificate: the forger is not trusted."""
    forger = write_signer(tmp_path / "forger", "rig-operator")
    rewrite(package, lambda f: f.update({"signer.pem": forger.cert.read_bytes()}))
    code, output = rig("package", "verify", package, "--trust", signer.cert)
    assert code == 1
    assert "bad signature" in output and "untrusted signer" in output


def test_no_package_from_a_run_that_did_not_finish(tmp_path: Path, signer: Signer) -> None:
    report = tmp_path / "unfinished"
    (report / "evidence").mkdir(parents=True)
    (report / "results.json").write_text("{}", encoding="utf-8")
    out = tmp_path / "p.tar.gz"
    code, output = create(report, out, signer)
    assert code == 1 and "no finished run here" in output
    assert not out.exists()


def test_no_package_from_a_report_changed_after_the_run(
    finished_run: Path, signer: Signer, tmp_path: Path
) -> None:
    (finished_run / "index.html").write_text("<h1>PASS!</h1>", encoding="utf-8")
    (finished_run / "evidence" / "test_a" / "apdu.log").unlink()
    (finished_run / "late.txt").write_text("x", encoding="utf-8")
    out = tmp_path / "p.tar.gz"
    code, output = create(finished_run, out, signer)
    assert code == 1 and not out.exists()
    assert "altered since the run finished: index.html" in output
    assert "removed since the run finished: evidence/test_a/apdu.log" in output
    assert "added since the run finished: late.txt" in output


def test_a_new_run_into_the_folder_forgets_the_finished_marker(finished_run: Path) -> None:
    from rig.harness.plans import PlanError
    from rig.harness.runner import run_plan

    assert (finished_run / MARKER).exists()
    with pytest.raises(PlanError):
        run_plan("no-such-plan", None, finished_run)
    assert not (finished_run / MARKER).exists()


def test_bad_input_gets_a_message_and_exit_2(
    finished_run: Path, signer: Signer, package: Path, tmp_path: Path
) -> None:
    out = tmp_path / "p2.tar.gz"
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello", encoding="utf-8")
    other = write_signer(tmp_path / "other", "other")
    cases = [
        (("--key", tmp_path / "missing.pem", "--cert", signer.cert), "no such file (private key)"),
        (("--key", not_pem, "--cert", signer.cert), "not a PEM private key"),
        (("--key", signer.key, "--cert", not_pem), "not a PEM certificate"),
        (("--key", signer.key, "--cert", other.cert), "not for the key in"),
    ]
    for args, message in cases:
        code, output = rig("package", "create", finished_run, "--output", out, *args)
        assert (code, message in output) == (2, True), output
    code, output = rig("package", "create", finished_run, "--output", finished_run / "x.tar.gz",
                       "--key", signer.key, "--cert", signer.cert)  # fmt: skip
    assert code == 2 and "inside the report folder" in output
    code, output = rig("package", "verify", package, "--trust", not_pem)
    assert code == 2 and "not a PEM certificate" in output
    code, output = rig("package", "verify", package, "--trust", tmp_path / "nope.pem")
    assert code == 2 and "no such file" in output


def test_an_archive_that_is_not_a_package(tmp_path: Path, signer: Signer) -> None:
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"\x1f\x8b not really gzip")
    code, output = rig("package", "verify", garbage, "--trust", signer.cert)
    assert code == 1 and "not a readable package archive" in output
    code, output = rig("package", "verify", tmp_path / "absent.tar.gz", "--trust", signer.cert)
    assert code == 1 and "no such package file" in output
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escape")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
        link = tarfile.TarInfo("report/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    code, output = rig("package", "verify", evil, "--trust", signer.cert)
    assert code == 1
    assert "not allowed in a package: '../escape'" in output
    assert "not allowed in a package: 'report/link'" in output
    assert "missing: MANIFEST.json" in output


def _damaged_signer(pem: bytes, how: str) -> bytes:
    """The signer certificate with one part damaged that only parsing that part reveals."""
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    if how == "subject":  # invalid UTF-8 in the subject's name (the issuer's stays sound)
        at = der.rindex(b"rig-operator")
        der = der[:at] + b"\xff" + der[at + 1 :]
    else:  # Ed25519's algorithm identifier (1.3.101.112) becomes an unknown one
        der = der.replace(bytes.fromhex("06032b6570"), bytes.fromhex("0603276570"))
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize("how", ["subject", "key type"])
def test_a_signer_certificate_damaged_inside_is_a_problem_not_a_crash(
    package: Path, signer: Signer, tmp_path: Path, how: str
) -> None:
    """Found by `make fuzz`: a certificate that loads but whose subject or key cannot be read
    raised out of verify (cryptography parses those parts only when they are read)."""
    rewrite(package, lambda f: f.update({"signer.pem": _damaged_signer(f["signer.pem"], how)}))
    code, output = rig("package", "verify", package, "--trust", signer.cert)
    assert code == 1
    assert problems(output.split(f"{package}:")[0])[0].startswith(
        "signer.pem: not a PEM certificate ("
    )
    # the same certificate given as the one to trust is the caller's input: exit 2, named
    trust = tmp_path / "damaged.pem"
    trust.write_bytes(members(package)["signer.pem"])
    code, output = rig("package", "verify", package, "--trust", trust)
    assert code == 2 and f"{trust}: not a PEM certificate (" in output

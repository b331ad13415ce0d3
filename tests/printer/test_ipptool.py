"""CUPS's ipptool conformance tests against the virtual printer (Debian cups-ipp-utils).

The standard test files run unchanged from /usr/share/cups/ipptool; they need sample
documents beside them, which we make here (A4 and US Letter PDFs). Formats the printer
does not take (PostScript, JPEG, PWG raster) get placeholder files: ipptool reads every
FILE at parse time even for tests it then skips.

ipp-everywhere.test applies only in part: its sample-printing tests need PWG raster and
JPEG sample files CUPS does not ship (a kiosk prints PDF), so we run the file up to those
tests, and its first test's expectations that need image/jpeg, image/pwg-raster, page
ranges or job overrides are listed below as not applicable.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from emulators.printer import VirtualPrinter
from emulators.printer.samples import make_pdf
from rig.core.drivers.ipp_client import IppClient

TESTS = Path("/usr/share/cups/ipptool")
RESULT = re.compile(r"^\s{4}(\S.*?)\s+\[(PASS|FAIL|SKIP|\d{4})\]\s*$")

#: expectations of "PWG 5100.14 section 5.1/5.2" that a PDF-only kiosk printer does not meet
NOT_APPLICABLE = (
    'document-format-supported WITH-VALUE "image/jpeg"',
    'document-format-supported WITH-VALUE "image/pwg-raster"',
    'ipp-features-supported WITH-VALUE "ipp-everywhere"',
    "overrides-supported",
    'page-ranges-supported WITH-VALUE "true"',
    "pwg-raster-document-resolution-supported",
    "pwg-raster-document-sheet-back",
    "pwg-raster-document-type-supported",
)


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("ipptool") is None or not TESTS.is_dir():
        pytest.fail("ipptool is missing: run scripts/setup.sh (Debian cups-ipp-utils)")
    folder = tmp_path_factory.mktemp("ipptool")
    for test in TESTS.glob("*.test"):
        shutil.copy(test, folder)
    (folder / "document-a4.pdf").write_bytes(make_pdf(2, page_size="a4"))
    (folder / "document-letter.pdf").write_bytes(make_pdf(2, page_size="letter"))
    for placeholder in ("document-a4.ps", "document-letter.ps", "color.jpg", "gray.jpg"):
        (folder / placeholder).write_bytes(b"placeholder: format not supported\n")
    everywhere = (TESTS / "ipp-everywhere.test").read_text()
    cut = everywhere.index("# Test printing all sample documents")
    (folder / "ipp-everywhere-applicable.test").write_text(everywhere[:cut])
    return folder


def run(suite: Path, uri: str, test: str) -> tuple[dict[str, str], str]:
    proc = subprocess.run(
        ["ipptool", "-t", "-I", "-T", "20", "-f", "document-a4.pdf", uri, test],
        cwd=suite,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    results: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        match = RESULT.match(line)
        if match:
            name, verdict = match.groups()
            results[f"{name} #{len(results)}"] = "PASS" if verdict.isdigit() else verdict
    assert results, proc.stdout + proc.stderr
    return results, proc.stdout


def failures(results: dict[str, str]) -> list[str]:
    return [name for name, verdict in results.items() if verdict == "FAIL"]


@pytest.mark.parametrize(
    "test", ["get-printer-attributes.test", "print-job.test", "validate-job.test", "get-jobs.test"]
)
def test_basic_ipptool_tests_pass(suite: Path, printer: VirtualPrinter, test: str) -> None:
    results, out = run(suite, printer.uri, test)
    assert failures(results) == [], out
    assert "PASS" in results.values()


def test_get_job_attributes_test_passes_against_a_job_uri(
    suite: Path, printer: VirtualPrinter, client: IppClient
) -> None:
    job = client.print_job(make_pdf(1))
    client.wait_for_job(job.job_id)
    results, out = run(suite, f"{printer.uri}/{job.job_id}", "get-job-attributes.test")
    assert failures(results) == [], out


def test_ipp_1_1_and_2_0_suites_pass(suite: Path, printer: VirtualPrinter) -> None:
    results, out = run(suite, printer.uri, "ipp-2.0.test")
    assert failures(results) == [], out
    passed = [n for n, v in results.items() if v == "PASS"]
    assert any(n.startswith("RFC 8011 section 4.1.8") for n in passed)  # bad version refused
    assert any(n.startswith("Print-Job with A4 PDF, Duplex") for n in passed)
    assert any(n.startswith("PWG 5100.12 section 6.2") for n in passed)


def test_applicable_parts_of_ipp_everywhere(suite: Path, printer: VirtualPrinter) -> None:
    results, out = run(suite, printer.uri, "ipp-everywhere-applicable.test")
    failed = failures(results)
    assert [f.split(" #")[0] for f in failed] == [
        "PWG 5100.14 section 5.1/5.2 - Required Operations and Attributes"
    ], out
    section = out.split("PWG 5100.14 section 5.1/5.2", 1)[1]
    expected = [
        line.strip().removeprefix("EXPECTED: ")
        for line in section.splitlines()
        if line.strip().startswith("EXPECTED:")
    ]
    unexpected = [e for e in expected if not e.startswith(NOT_APPLICABLE)]
    assert expected and unexpected == [], out


def test_receipt_printer_passes_get_printer_attributes(
    suite: Path, printer: VirtualPrinter
) -> None:
    results, out = run(suite, printer.receipt_uri, "get-printer-attributes.test")
    assert failures(results) == [], out

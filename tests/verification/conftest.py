"""A marked certificate printed through the real Ghostscript path and scanned, shared by the
verification tests, and a running site answering for the test key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulators.verification import VerificationSite
from rig.core.antiforgery import apply_marks, rasterize_pdf, scan, sheets_to_pdf
from rig.core.antiforgery.specimen import certificate_page
from rig.core.evidence import EvidenceStore
from tests.verification.helpers import (
    DOCUMENT_ID,
    KEY,
    Specimen,
    jpeg_bytes,
    png_bytes,
    scanner_pdf,
)


@pytest.fixture(scope="session")
def specimen() -> Specimen:
    content = certificate_page(0)
    front, back = apply_marks(content, KEY, DOCUMENT_ID)
    printer_pdf = sheets_to_pdf([front, back])
    front_capture, back_capture = rasterize_pdf(printer_pdf)
    back_scan = scan(
        back_capture, rotation_deg=1.2, offset_px=(20, -15), noise=4, blur_px=0.6, seed=1
    )
    front_scan = scan(
        front_capture, rotation_deg=-0.8, offset_px=(-12, 9), noise=4, blur_px=0.6, seed=2
    )
    for array in (content, front_capture, back_capture, back_scan, front_scan):
        array.setflags(write=False)
    return Specimen(
        content=content,
        front=front_capture,
        back=back_capture,
        back_scan=back_scan,
        front_scan=front_scan,
        png=png_bytes(back_scan),
        jpeg=jpeg_bytes(back_scan),
        scan_pdf=scanner_pdf(back_scan),
        printer_pdf=printer_pdf,
    )


@pytest.fixture(scope="session")
def site_evidence(tmp_path_factory: pytest.TempPathFactory) -> EvidenceStore:
    return EvidenceStore(Path(tmp_path_factory.mktemp("verification-evidence")))


@pytest.fixture(scope="session")
def site(site_evidence: EvidenceStore) -> Iterator[VerificationSite]:
    with VerificationSite(KEY, evidence=site_evidence) as running:
        yield running


@pytest.fixture
def client(site: VerificationSite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.server.url, timeout=60.0) as http:
        yield http

"""POST /api/verify and /api/compare with real scans: PNG, JPEG, scanner PDF, printer PDF."""

from __future__ import annotations

import base64
import io
import re

import httpx
import numpy as np
import pytest
from PIL import Image

from emulators.verification import KeyRing, VerificationSite
from rig.core.antiforgery import MATCH_SSIM, compare, layout, nonce_for
from rig.core.evidence import EvidenceStore
from tests.verification.helpers import (
    DOCUMENT_ID,
    KEY,
    OTHER_KEY,
    Specimen,
    decoded_page,
    png_bytes,
)


def _verify(
    client: httpx.Client, data: bytes, name: str, ctype: str, **fields: str
) -> httpx.Response:
    return client.post("/api/verify", files={"file": (name, data, ctype)}, data=fields)


@pytest.mark.parametrize(
    ("attr", "name", "ctype", "fmt"),
    [
        ("png", "back.png", "image/png", "png"),
        ("jpeg", "back.jpg", "image/jpeg", "jpeg"),
        ("scan_pdf", "back.pdf", "application/pdf", "pdf"),
    ],
)
def test_scanned_back_decodes_to_the_front(
    client: httpx.Client, specimen: Specimen, attr: str, name: str, ctype: str, fmt: str
) -> None:
    response = _verify(client, getattr(specimen, attr), name, ctype, document_id=DOCUMENT_ID)
    assert response.status_code == 200, response.text[:300]
    answer = response.json()
    assert answer["result"] == "decoded"
    assert answer["registration"]["found"] is True
    assert answer["registration"]["rotation_deg"] == pytest.approx(1.2, abs=0.05)
    assert answer["nonce"] == nonce_for(KEY, DOCUMENT_ID).hex()
    assert answer["document"] == {"id": DOCUMENT_ID, "matches": True}
    assert answer["key_id"] == "default"
    assert answer["source"]["format"] == fmt
    assert answer["source"]["page"] == 1
    assert answer["comparison"] is None
    report = compare(specimen.front, decoded_page(answer))
    assert report.ssim >= 0.9, report
    assert report.matches


def test_decoded_image_is_the_content_box_at_150_dpi(
    client: httpx.Client, specimen: Specimen
) -> None:
    answer = _verify(client, specimen.png, "b.png", "image/png").json()
    decoded = Image.open(io.BytesIO(base64.b64decode(answer["decoded_front_png"])))
    assert decoded.size == (layout.CONTENT.w // 2, layout.CONTENT.h // 2)
    assert answer["decoded_box"] == {"x": 360, "y": 514, "w": 1760, "h": 2480, "dpi": 150}
    preview = Image.open(io.BytesIO(base64.b64decode(answer["back_preview_png"])))
    assert preview.size == (620, 877)
    # the decoded content is the municipality's page, module for module
    content = specimen.content[514 : 514 + 2480, 360 : 360 + 1760].astype(np.float32)
    modules = content.reshape(1240, 2, 880, 2).mean(axis=(1, 3))
    error = np.abs(np.asarray(decoded, dtype=np.float32) - modules)
    assert float(np.median(error)) < 8.0


def test_printer_pdf_picks_the_back_and_compares_with_its_front(
    client: httpx.Client, specimen: Specimen
) -> None:
    answer = _verify(client, specimen.printer_pdf, "sheet.pdf", "application/pdf").json()
    assert answer["source"] == {
        "format": "pdf", "page": 2, "pages_read": 2, "width": 2480, "height": 3508, "dpi": 300.0
    }  # fmt: skip
    # A4 PDF pages render one to one: no rotation, no scale
    assert answer["registration"]["rotation_deg"] == pytest.approx(0.0, abs=0.01)
    assert answer["registration"]["scale"] == pytest.approx(1.0, abs=1e-3)
    assert answer["comparison"]["matches"] is True
    assert answer["comparison"]["ssim"] > 0.98
    assert answer["document"] == {"id": None, "matches": None}


def test_raw_body_upload_with_document_id_in_query(
    client: httpx.Client, specimen: Specimen
) -> None:
    response = client.post(
        "/api/verify",
        content=specimen.jpeg,
        params={"document_id": DOCUMENT_ID},
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 200
    assert response.json()["document"]["matches"] is True


def test_other_document_id_does_not_match(client: httpx.Client, specimen: Specimen) -> None:
    answer = _verify(client, specimen.png, "b.png", "image/png", document_id="TEST-000001").json()
    assert answer["document"] == {"id": "TEST-000001", "matches": False}


def test_400_dpi_scan_is_resampled(client: httpx.Client, specimen: Specimen) -> None:
    big = Image.fromarray(specimen.back_scan).resize((3307, 4677), Image.Resampling.BICUBIC)
    data = png_bytes(np.asarray(big), dpi=400)
    answer = _verify(client, data, "b400.png", "image/png").json()
    assert answer["source"]["dpi"] == 400.0
    assert compare(specimen.front, decoded_page(answer)).ssim >= 0.9


def test_scan_without_dpi_field_is_taken_as_300_dpi(
    client: httpx.Client, specimen: Specimen
) -> None:
    answer = _verify(client, png_bytes(specimen.back_scan, dpi=None), "b.png", "image/png").json()
    assert answer["source"]["dpi"] == 300.0
    assert compare(specimen.front, decoded_page(answer)).ssim >= 0.9


def test_colour_scan_with_alpha_decodes(client: httpx.Client, specimen: Specimen) -> None:
    rgba = np.dstack([specimen.back_scan] * 3 + [np.full_like(specimen.back_scan, 255)])
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, format="PNG", dpi=(300, 300))
    answer = _verify(client, out.getvalue(), "c.png", "image/png").json()
    assert compare(specimen.front, decoded_page(answer)).ssim >= 0.9


def test_compare_endpoint_reports_a_genuine_sheet(client: httpx.Client, specimen: Specimen) -> None:
    response = client.post(
        "/api/compare",
        files={
            "back": ("back.jpg", specimen.jpeg, "image/jpeg"),
            "front": ("front.png", png_bytes(specimen.front_scan), "image/png"),
        },
        data={"document_id": DOCUMENT_ID},
    )
    assert response.status_code == 200, response.text[:300]
    comparison = response.json()["comparison"]
    assert comparison["match_ssim"] == MATCH_SSIM
    assert comparison["ssim"] >= 0.95
    assert comparison["altered"] == []
    assert comparison["matches"] is True


def test_compare_endpoint_finds_an_altered_front(client: httpx.Client, specimen: Specimen) -> None:
    forged = specimen.front_scan.copy()
    # white out a stretch of the table's value column (a name or date) and add a stroke
    forged[1000:1060, 1000:1500] = 255
    forged[1400:1412, 900:1300] = 0
    response = client.post(
        "/api/compare",
        files={
            "back": ("back.png", specimen.png, "image/png"),
            "front": ("front.png", png_bytes(forged), "image/png"),
        },
    )
    comparison = response.json()["comparison"]
    assert comparison["matches"] is False
    boxes = comparison["altered"]
    assert boxes, comparison

    def overlaps(box: dict[str, int], x0: int, y0: int, x1: int, y1: int) -> bool:
        return (
            box["x"] < x1
            and x0 < box["x"] + box["w"]
            and box["y"] < y1
            and y0 < box["y"] + box["h"]
        )

    # the scan is rotated by −0.8° and shifted: page coordinates of the edits move a little
    assert any(overlaps(b, 950, 950, 1550, 1110) for b in boxes)
    assert any(overlaps(b, 850, 1350, 1350, 1460) for b in boxes)


def test_compare_endpoint_needs_a_registrable_front(
    client: httpx.Client, specimen: Specimen
) -> None:
    blank = np.full(layout.PAGE_SHAPE, 255, dtype=np.uint8)
    response = client.post(
        "/api/compare",
        files={
            "back": ("back.png", specimen.png, "image/png"),
            "front": ("front.png", png_bytes(blank), "image/png"),
        },
    )
    assert response.status_code == 422
    assert response.json()["code"] == "front_unreadable"


def test_key_ring_tries_every_key(specimen: Specimen) -> None:
    ring = KeyRing.of([("2027-current", OTHER_KEY), ("2026-previous", KEY)])
    with VerificationSite(ring) as site, httpx.Client(base_url=site.server.url, timeout=60) as http:
        answer = _verify(http, specimen.jpeg, "b.jpg", "image/jpeg", document_id=DOCUMENT_ID).json()
    assert answer["key_id"] == "2026-previous"
    assert answer["document"]["matches"] is True


def test_page_is_self_contained_utf8(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    html = response.content.decode("utf-8")
    assert "問い合わせサイト" in html and "Certificate verification" in html
    assert 'type="file"' in html and 'type="submit"' in html
    assert "__MAX_UPLOAD_MB__" not in html and '最大 <span id="limit">25</span> MB' in html
    # nothing is fetched from anywhere else: no absolute URLs in src/href/url()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "url(" not in html and "@import" not in html
    head = client.head("/")
    assert head.status_code == 200 and head.content == b""
    assert client.get("/healthz").json() == {"status": "ok", "keys": 1}


def test_evidence_records_requests_without_image_data(
    client: httpx.Client, specimen: Specimen, site_evidence: EvidenceStore
) -> None:
    _verify(client, specimen.jpeg, "b.jpg", "image/jpeg", document_id=DOCUMENT_ID)
    client.post("/api/verify", content=b"not an image", headers={"Content-Type": "text/plain"})
    records = list(site_evidence.records("verification"))
    requests = [r for r in records if r["event"] == "request" and r["path"] == "/api/verify"]
    assert {"status": 200, "code": None, "format": "jpeg"}.items() <= requests[-2].items()
    assert requests[-1]["code"] == "unsupported_format"
    text = "".join((site_evidence.folder / "verification.jsonl").read_text(encoding="utf-8"))
    assert DOCUMENT_ID not in text and KEY.hex() not in text
    assert max(len(line) for line in text.splitlines()) < 500
    assert site_evidence.attachments() == []


def test_a4_back_decodes_to_the_whole_a4_front(client: httpx.Client) -> None:
    """An A4 certificate's back carries the whole A4 content area (at 100 dpi); the site's
    decoded image is that area, and it compares with the printed front."""
    from rig.core.antiforgery import apply_marks, rasterize_pdf, scan, sheets_to_pdf
    from rig.core.antiforgery.specimen import certificate_page_a4

    front, back = apply_marks(certificate_page_a4(0), KEY, DOCUMENT_ID, paper="A4")
    front_capture, back_capture = rasterize_pdf(sheets_to_pdf([front, back]))
    back_scan = scan(back_capture, rotation_deg=0.8, offset_px=(10, -8), noise=4, seed=3)
    response = _verify(
        client, png_bytes(back_scan), "back.png", "image/png", document_id=DOCUMENT_ID
    )
    assert response.status_code == 200, response.text[:300]
    answer = response.json()
    page = decoded_page(answer)
    report = compare(front_capture, page)
    assert report.ssim >= 0.9 and report.matches, report
    # the decoded image reaches beyond the A5 box: it is the A4 area, not an A5 crop
    from rig.core.antiforgery import layout

    a5 = layout.AREA_A5.front
    outside = np.concatenate([page[: a5.y].ravel(), page[a5.y1 :].ravel()])
    assert (outside < 128).any(), "ink outside the A5 box was decoded"

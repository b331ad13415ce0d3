"""Every bad upload gets its own problem code (4xx), never a 500."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from PIL import Image

from emulators.verification import Limits, VerificationSite
from rig.core.antiforgery import apply_marks, layout, scan
from tests.verification.helpers import (
    OTHER_KEY,
    Specimen,
    assert_problem,
    png_bytes,
    raw_exchange,
)


def _post(
    client: httpx.Client, data: bytes, ctype: str = "application/octet-stream"
) -> httpx.Response:
    return client.post("/api/verify", files={"file": ("upload", data, ctype)})


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims `width`×`height` px, followed by a few bytes of pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(bytes(1000))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_wrong_key(client: httpx.Client, specimen: Specimen) -> None:
    _, back = apply_marks(specimen.content, OTHER_KEY, "OTHER-1")
    doc = assert_problem(_post(client, png_bytes(scan(back, rotation_deg=0.5))), "wrong_key")
    assert doc["registration_found"] is True


def test_front_uploaded_as_back(client: httpx.Client, specimen: Specimen) -> None:
    doc = assert_problem(_post(client, png_bytes(specimen.front_scan)), "not_a_back")
    assert doc["registration_found"] is True


def test_page_without_registration_marks(client: httpx.Client, specimen: Specimen) -> None:
    page = np.full(layout.PAGE_SHAPE, 255, dtype=np.uint8)
    page[500:3000, 300:2200] = specimen.content[500:3000, 300:2200]
    doc = assert_problem(_post(client, png_bytes(page)), "registration_not_found")
    assert doc["registration_found"] is False


def test_back_rotated_too_far(client: httpx.Client, specimen: Specimen) -> None:
    turned = scan(specimen.back, rotation_deg=8.0)
    assert_problem(_post(client, png_bytes(turned)), "registration_not_found")


def test_pdf_of_two_fronts_reports_not_a_back(client: httpx.Client, specimen: Specimen) -> None:
    from rig.core.antiforgery import sheets_to_pdf

    doc = assert_problem(
        _post(client, sheets_to_pdf([specimen.front, specimen.front])), "not_a_back"
    )
    assert doc["pages_read"] == 2


@pytest.mark.parametrize(
    "data",
    [b"hello, world", b"", b"GIF89a\x01\x00\x01\x00", b"II*\x00" + bytes(100), b"\x00" * 2048],
    ids=["text", "empty", "gif", "tiff", "zeros"],
)
def test_not_an_image(client: httpx.Client, data: bytes) -> None:
    response = _post(client, data)
    assert_problem(response, "no_file" if not data else "unsupported_format")


def test_truncated_png_and_jpeg(client: httpx.Client, specimen: Specimen) -> None:
    assert_problem(_post(client, specimen.png[: len(specimen.png) // 3]), "corrupt_image")
    assert_problem(_post(client, specimen.jpeg[: len(specimen.jpeg) // 3]), "corrupt_image")
    assert_problem(_post(client, specimen.png[:100]), "corrupt_image")


def test_corrupt_png_data(client: httpx.Client, specimen: Specimen) -> None:
    broken = bytearray(specimen.png)
    broken[200:400] = bytes(200)  # inside the first IDAT: zlib stream broken
    assert_problem(_post(client, bytes(broken)), "corrupt_image")


def test_image_dimensions(client: httpx.Client) -> None:
    tiny = png_bytes(np.zeros((20, 20), dtype=np.uint8))
    assert_problem(_post(client, tiny), "image_dimensions")
    # headers claiming more pixels than a 600 dpi A4 scan are refused before any pixel is
    # decoded: ours above 40 megapixels, Pillow's bomb guard far above that
    doc = assert_problem(_post(client, _png_header_only(7000, 7000)), "image_dimensions")
    assert "7000×7000 px is more than 40 megapixels" in doc["detail"]
    doc = assert_problem(_post(client, _png_header_only(100_000, 100_000)), "image_dimensions")
    assert "decompression bomb" in doc["detail"]


def test_low_resolution_scan(client: httpx.Client, specimen: Specimen) -> None:
    small = Image.fromarray(specimen.back_scan).resize((1240, 1754), Image.Resampling.BOX)
    doc = assert_problem(_post(client, png_bytes(np.asarray(small), dpi=150)), "resolution_too_low")
    assert "150 dpi" in doc["detail"]


def test_pdf_with_no_pages(client: httpx.Client) -> None:
    empty = (
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )
    assert_problem(_post(client, empty), "pdf_no_pages")


def test_corrupt_pdf(client: httpx.Client, specimen: Specimen) -> None:
    assert_problem(_post(client, b"%PDF-1.7\nthis is not a PDF at all\n"), "corrupt_pdf")
    assert_problem(_post(client, specimen.scan_pdf[:400]), "corrupt_pdf")


def test_multipart_problems(client: httpx.Client, specimen: Specimen) -> None:
    no_file = client.post("/api/verify", data={"document_id": "x"}, files={"other": ("x", b"1")})
    assert_problem(no_file, "no_file")
    bad = client.post(
        "/api/verify",
        content=b"--abc\r\nContent-Type: image/png\r\n\r\nxx\r\n--abc--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=abc"},
    )
    assert_problem(bad, "bad_multipart")
    no_boundary = client.post(
        "/api/verify", content=b"xx", headers={"Content-Type": "multipart/form-data"}
    )
    assert_problem(no_boundary, "bad_multipart")
    empty_raw = client.post("/api/verify", content=b"", headers={"Content-Type": "image/png"})
    assert_problem(empty_raw, "no_file")


def test_invalid_document_id(client: httpx.Client, specimen: Specimen) -> None:
    response = client.post(
        "/api/verify",
        files={"file": ("b.jpg", specimen.jpeg, "image/jpeg")},
        data={"document_id": "x" * 300},
    )
    assert_problem(response, "invalid_document_id")


def test_routes_and_methods(client: httpx.Client) -> None:
    assert_problem(client.get("/nothing-here"), "not_found")
    wrong = client.get("/api/verify")
    assert_problem(wrong, "method_not_allowed")
    assert wrong.headers["allow"] == "POST"
    assert client.delete("/").headers["allow"] == "GET, HEAD"


def test_http_level_refusals(site: VerificationSite) -> None:
    port = int(site.server.url.rsplit(":", 1)[1])
    status, doc = raw_exchange(port, b"POST /api/verify HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, doc["code"]) == (411, "length_required")
    # a method no route serves is refused like any other: 405 with Allow
    status, doc = raw_exchange(port, b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, doc["code"]) == (405, "method_not_allowed")
    status, doc = raw_exchange(port, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n")
    assert (status, doc["code"]) == (414, "uri_too_long")
    status, doc = raw_exchange(port, b"garbage\r\n\r\n")
    assert (status, doc["code"]) == (400, "bad_request")
    # a declared 1 GiB body is refused at once, before any of it is read
    request = b"POST /api/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n"
    status, doc = raw_exchange(port, request)
    assert (status, doc["code"]) == (413, "upload_too_large")
    assert doc["max_upload"] == 25 << 20


@pytest.fixture(scope="module")
def small_site() -> Iterator[VerificationSite]:
    with VerificationSite(OTHER_KEY, limits=Limits(max_upload=1 << 20)) as running:
        yield running


def test_upload_over_the_limit(small_site: VerificationSite) -> None:
    big = io.BytesIO()
    big.write(b"\x89PNG\r\n\x1a\n" + bytes(2 << 20))
    with httpx.Client(base_url=small_site.server.url, timeout=30) as http:
        response = http.post(
            "/api/verify", content=big.getvalue(), headers={"Content-Type": "image/png"}
        )
        doc = assert_problem(response, "upload_too_large")
        assert doc["max_upload"] == 1 << 20
        # the body was drained: the connection still serves the next request
        assert http.get("/healthz").status_code == 200
        page = http.get("/").content.decode("utf-8")
        assert '最大 <span id="limit">1</span> MB' in page

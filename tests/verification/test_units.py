"""The pieces under the server: multipart parsing, the key ring, image normalisation."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emulators.verification import KeyRing, KeyRingError, Problem
from emulators.verification.images import decode_raster, sniff
from emulators.verification.uploads import parse_multipart, parse_upload
from rig.core.antiforgery import layout
from tests.verification.helpers import KEY, OTHER_KEY


def _multipart(boundary: bytes, *parts: bytes) -> bytes:
    return (
        b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts)
        + b"--"
        + boundary
        + b"--\r\n"
    )


def test_multipart_keeps_binary_payload_byte_for_byte() -> None:
    payload = b"\r\n--not-the-boundary\r\n\x00\xff\r\r\n\n" * 50
    body = _multipart(
        b"XyZ",
        b'Content-Disposition: form-data; name="back"; filename="b.png"\r\nContent-Type: image/png\r\n\r\n'
        + payload,
        b'Content-Disposition: form-data; name="document_id"\r\n\r\nDOC-1',
    )
    upload = parse_multipart('multipart/form-data; boundary="XyZ"', body)
    part = upload.files["back"]
    assert part.data == payload and part.filename == "b.png" and part.content_type == "image/png"
    assert upload.fields == {"document_id": "DOC-1"}
    assert upload.file("file", "back") is part


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"no boundary here", "boundary not found"),
        (b'--b\r\nContent-Disposition: form-data; name="f"\r\n\r\nunterminated', "not terminated"),
        (b"--b\r\nX-No-Disposition: 1\r\n\r\nx\r\n--b--", "Content-Disposition"),
        (b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--", "without a name"),
        (b"--bX", "not followed by CRLF"),
        (b"--b\r\n" + b"H: " + b"v" * 5000, "headers missing or too long"),
        (
            _multipart(b"b", *[b'Content-Disposition: form-data; name="a"\r\n\r\nx'] * 9),
            "more than 8 parts",
        ),
    ],
)
def test_malformed_multipart(body: bytes, detail: str) -> None:
    with pytest.raises(Problem) as caught:
        parse_multipart("multipart/form-data; boundary=b", body)
    assert caught.value.code == "bad_multipart"
    assert detail in str(caught.value)


def test_raw_upload_takes_query_fields() -> None:
    upload = parse_upload("image/jpeg; q=1", b"\xff\xd8\xff data", {"document_id": "D"})
    assert upload.files["file"].content_type == "image/jpeg"
    assert upload.fields == {"document_id": "D"}
    with pytest.raises(Problem, match="no_file"):
        parse_upload("image/png", b"", {}).file("file")


def test_key_ring_from_private_file(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# current first\n2027 {OTHER_KEY.hex()}\n2026 {KEY.hex()}  # previous\n")
    path.chmod(0o600)
    ring = KeyRing.from_file(path)
    assert list(ring) == [("2027", OTHER_KEY), ("2026", KEY)]
    assert KEY.hex() not in repr(ring) and "2026" in repr(ring)
    path.chmod(0o644)
    with pytest.raises(KeyRingError, match="chmod 600"):
        KeyRing.from_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a zz\n", "not hex"),
        ("a\n", "expected"),
        (f"a {KEY.hex()}\na {KEY.hex()}\n", "duplicate"),
        ("a 0011\n", "16–1024"),
        ("", "1–16 keys"),
    ],
)
def test_key_ring_refuses_bad_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "keys"
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(KeyRingError, match=message):
        KeyRing.from_file(path)


def test_sniff_ignores_names_and_types() -> None:
    assert sniff(b"\x89PNG\r\n\x1a\n...") == "png"
    assert sniff(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff(b"junk before header %PDF-1.7") == "pdf"
    with pytest.raises(Problem, match="unsupported_format"):
        sniff(b"BM" + bytes(100))


def _encode(img: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG", **params)
    return out.getvalue()


def test_16_bit_and_transparent_scans_become_gray_on_paper() -> None:
    wide = np.full((3508, 2480), 65535, dtype=np.uint16)
    wide[100:200, 100:200] = 0
    page = decode_raster(_encode(Image.fromarray(wide), dpi=(300, 300)), "png").pages[0].pixels
    assert page.shape == layout.PAGE_SHAPE
    assert page[150, 150] == 0 and page[1000, 1000] == 255
    rgba = np.zeros((3508, 2480, 4), dtype=np.uint8)  # fully transparent black: paper
    rgba[100:200, 100:200] = (0, 0, 0, 255)
    page = decode_raster(_encode(Image.fromarray(rgba, "RGBA")), "png").pages[0].pixels
    assert page[150, 150] == 0 and page[1000, 1000] == 255


def test_resolution_from_width_when_the_dpi_field_is_wrong() -> None:
    # many writers stamp 72 dpi whatever the scan: a 2480 px wide page is still 300 dpi
    img = Image.fromarray(np.full((3508, 2480), 255, dtype=np.uint8))
    decoded = decode_raster(_encode(img, dpi=(72, 72)), "png")
    assert decoded.pages[0].source_dpi == 300.0
    # the whole scanner glass (216 × 297 mm) is snapped to 300 dpi and cropped to A4
    glass = Image.fromarray(np.full((3508, 2551), 255, dtype=np.uint8))
    page = decode_raster(_encode(glass), "png").pages[0]
    assert page.source_dpi == 300.0 and page.pixels.shape == layout.PAGE_SHAPE

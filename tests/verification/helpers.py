"""Specimens and small clients shared by the verification-site tests."""

from __future__ import annotations

import base64
import io
import json
import socket
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from emulators.verification import CATALOGUE, decoded_page_from_png
from emulators.verification.problems import PROBLEM_CONTENT_TYPE

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
DOCUMENT_ID = "TEST-000000"


@dataclass(frozen=True)
class Specimen:
    """One marked certificate and the files a person would upload."""

    content: NDArray[np.uint8]  # the municipality's page (what the back carries)
    front: NDArray[np.uint8]  # Ghostscript capture of the printed front
    back: NDArray[np.uint8]  # Ghostscript capture of the printed back
    back_scan: NDArray[np.uint8]  # flatbed scan of the back: rotated, shifted, blurred, noisy
    front_scan: NDArray[np.uint8]
    png: bytes  # back_scan as PNG
    jpeg: bytes  # back_scan as JPEG
    scan_pdf: bytes  # back_scan as a scanner's PDF (one JPEG page, 300 dpi)
    printer_pdf: bytes  # the 2-page duplex PDF the centre sends to the printer


def png_bytes(pixels: NDArray[np.uint8], dpi: float | None = 300.0) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
    return out.getvalue()


def jpeg_bytes(pixels: NDArray[np.uint8], quality: int = 90) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=quality, dpi=(300, 300))
    return out.getvalue()


def scanner_pdf(pixels: NDArray[np.uint8]) -> bytes:
    """A PDF as a scanner writes one: the page a JPEG image at 300 dpi (Pillow's writer)."""
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PDF", resolution=300.0)
    return out.getvalue()


def decoded_page(answer: dict[str, Any]) -> NDArray[np.uint8]:
    return decoded_page_from_png(base64.b64decode(answer["decoded_front_png"]))


def assert_problem(response: httpx.Response, code: str) -> dict[str, Any]:
    """The response is the catalogue's problem document for `code`."""
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE, response.text[:200]
    doc: dict[str, Any] = response.json()
    assert doc["code"] == code, doc
    assert response.status_code == CATALOGUE[code].status == doc["status"]
    assert doc["type"] == f"urn:konbini-rig:problem:{code}"
    assert doc["message_ja"] == CATALOGUE[code].message_ja
    return doc


def raw_exchange(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, dict[str, Any]]:
    """Send raw bytes, read one response to the end: (status, JSON body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        return read_response(sock)


def read_response(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a full response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(
        int(v)
        for k, _, v in (ln.partition(":") for ln in lines[1:])
        if k.lower() == "content-length"
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, json.loads(body[:length])

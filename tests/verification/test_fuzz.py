"""Fuzz the upload endpoints over a real socket: random bytes, truncated and damaged PNG,
JPEG and PDF files, random multipart bodies. Every answer is 200 or a catalogue problem
(4xx); never a 500, never a hang (httpx time-out)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulators.verification import CATALOGUE, VerificationSite
from emulators.verification.problems import PROBLEM_CONTENT_TYPE
from rig.harness.fuzz import examples
from tests.verification.helpers import Specimen


@pytest.fixture(scope="module")
def fuzz_client(site: VerificationSite) -> Iterator[httpx.Client]:
    # one client for all examples: a connection the site had to close is simply reopened
    with httpx.Client(base_url=site.server.url, timeout=60.0) as http:
        yield http


CONTENT_TYPES = st.sampled_from(
    ["image/png", "image/jpeg", "application/pdf", "application/octet-stream", "text/plain", ""]
)


def _check(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 500, response.text[:300]
    doc: dict[str, Any] = response.json()
    if response.status_code == 200:
        assert doc["result"] == "decoded" and doc["registration"]["found"] is True
    else:
        assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
        assert doc["code"] in CATALOGUE and CATALOGUE[doc["code"]].status == response.status_code
    return doc


@pytest.mark.fuzz
@settings(max_examples=examples(25))
@given(
    data=st.binary(max_size=4096),
    ctype=CONTENT_TYPES,
    prefix=st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"%PDF-1.4\n"]),
)
def test_fuzz_random_bytes(
    fuzz_client: httpx.Client, data: bytes, ctype: str, prefix: bytes
) -> None:
    _check(fuzz_client.post("/api/verify", content=prefix + data, headers={"Content-Type": ctype}))


@pytest.mark.fuzz
@settings(max_examples=examples(12))
@given(which=st.sampled_from(["png", "jpeg", "scan_pdf"]), cut=st.floats(0.0, 0.999))
def test_fuzz_truncated_files(
    fuzz_client: httpx.Client, specimen: Specimen, which: str, cut: float
) -> None:
    data: bytes = getattr(specimen, which)
    truncated = data[: int(len(data) * cut)]
    _check(
        fuzz_client.post(
            "/api/verify", files={"file": ("scan", truncated, "application/octet-stream")}
        )
    )


@pytest.mark.fuzz
@settings(max_examples=examples(10))
@given(
    which=st.sampled_from(["jpeg", "scan_pdf"]),
    flips=st.lists(st.tuples(st.floats(0.0, 0.999), st.integers(1, 255)), min_size=1, max_size=8),
)
def test_fuzz_damaged_files(
    fuzz_client: httpx.Client, specimen: Specimen, which: str, flips: list[tuple[float, int]]
) -> None:
    data = bytearray(getattr(specimen, which))
    for where, mask in flips:
        data[int(len(data) * where)] ^= mask
    _check(
        fuzz_client.post("/api/verify", content=bytes(data), headers={"Content-Type": "image/jpeg"})
    )


@pytest.mark.fuzz
@settings(max_examples=examples(30))
@given(
    boundary=st.text(
        st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='";'),
        min_size=1,
        max_size=20,
    ),
    parts=st.lists(
        st.tuples(st.binary(max_size=200), st.binary(max_size=300)), min_size=0, max_size=4
    ),
    closing=st.booleans(),
    path=st.sampled_from(["/api/verify", "/api/compare"]),
)
def test_fuzz_multipart(
    fuzz_client: httpx.Client,
    boundary: str,
    parts: list[tuple[bytes, bytes]],
    closing: bool,
    path: str,
) -> None:
    delimiter = b"--" + boundary.encode()
    body = b""
    for headers, payload in parts:
        body += delimiter + b"\r\n" + headers + b"\r\n\r\n" + payload + b"\r\n"
    if closing:
        body += delimiter + b"--\r\n"
    ctype = f"multipart/form-data; boundary={boundary}"
    _check(fuzz_client.post(path, content=body, headers={"Content-Type": ctype}))

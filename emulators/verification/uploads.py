"""The upload as the site receives it: one file (and form fields) from a request body.

Two ways to send a scan:

- `multipart/form-data` (what the page's form sends): the file in part `file` (or `back`,
  and `front` for /api/compare), an optional text part `document_id`;
- a raw body (`image/png`, `image/jpeg`, `application/pdf` or `application/octet-stream`),
  the document id in the query string (`?document_id=…`).

The multipart parser is small and strict on purpose: binary payloads are taken byte for byte
between the boundaries (no line-ending repair), and anything malformed is `bad_multipart`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from emulators.verification.problems import Problem

MAX_PARTS = 8
MAX_PART_HEADER = 4096
MAX_FIELD = 1024
_BOUNDARY = re.compile(r'boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))', re.IGNORECASE)
_NAME = re.compile(r'\bname="([^"]*)"', re.IGNORECASE)
_FILENAME = re.compile(r'\bfilename="([^"]*)"', re.IGNORECASE)


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Upload:
    """Files by form name, and text fields."""

    files: dict[str, Part] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)

    def file(self, *names: str) -> Part:
        """The first non-empty file among `names` (`no_file` if none)."""
        for name in names:
            part = self.files.get(name)
            if part is not None and part.data:
                return part
        raise Problem("no_file", f"expected a file in form field {' or '.join(names)!s}")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_upload(content_type: str | None, body: bytes, query: dict[str, str]) -> Upload:
    """Turn a request body into an `Upload` (multipart or raw)."""
    if media_type(content_type) == "multipart/form-data":
        return parse_multipart(content_type or "", body)
    upload = Upload(fields=dict(query))
    if body:
        upload.files["file"] = Part("file", None, media_type(content_type), body)
    return upload


def parse_multipart(content_type: str, body: bytes) -> Upload:
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise Problem("bad_multipart", "multipart/form-data without a boundary parameter")
    boundary = (match.group(1) or match.group(2)).encode("latin-1", "replace")
    delimiter = b"--" + boundary
    start = body.find(delimiter)
    if start < 0:
        raise Problem("bad_multipart", "boundary not found in the body")
    upload = Upload()
    pos = start + len(delimiter)
    for _ in range(MAX_PARTS + 1):
        if body.startswith(b"--", pos):
            return upload  # closing delimiter
        if not body.startswith(b"\r\n", pos):
            raise Problem("bad_multipart", "delimiter not followed by CRLF")
        pos += 2
        head_end = body.find(b"\r\n\r\n", pos, pos + MAX_PART_HEADER)
        if head_end < 0:
            raise Problem("bad_multipart", "part headers missing or too long")
        headers = _part_headers(body[pos:head_end])
        data_start = head_end + 4
        data_end = body.find(b"\r\n" + delimiter, data_start)
        if data_end < 0:
            raise Problem("bad_multipart", "part not terminated by the boundary")
        _add_part(upload, headers, body[data_start:data_end])
        pos = data_end + 2 + len(delimiter)
    raise Problem("bad_multipart", f"more than {MAX_PARTS} parts")


def _part_headers(raw: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if not sep:
            raise Problem("bad_multipart", "malformed part header line")
        headers[name.strip().lower()] = value.strip()
    return headers


def _add_part(upload: Upload, headers: dict[str, str], data: bytes) -> None:
    disposition = headers.get("content-disposition", "")
    if not disposition.lower().startswith("form-data"):
        raise Problem("bad_multipart", "part without Content-Disposition: form-data")
    name_match = _NAME.search(disposition)
    if name_match is None:
        raise Problem("bad_multipart", "part without a name")
    name = name_match.group(1)
    file_match = _FILENAME.search(disposition)
    if file_match is None and "content-type" not in headers:
        if len(data) > MAX_FIELD:
            raise Problem("bad_multipart", f"text field {name!r} longer than {MAX_FIELD} bytes")
        upload.fields[name] = data.decode("utf-8", "replace")
        return
    upload.files[name] = Part(
        name=name,
        filename=file_match.group(1) if file_match else None,
        content_type=media_type(headers.get("content-type")),
        data=data,
    )

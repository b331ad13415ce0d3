"""Every refusal of the verification site, as an RFC 9457 problem document with a stable code.

The catalogue below is the contract: the page shows `message_ja` / `title` to the person who
uploaded the scan, and a client program branches on `code`. Statuses are 4xx for anything
about the upload, 503 when the site is busy; a 500 would be a bug in the site.
"""

from __future__ import annotations

from typing import Any

from rig.core import https
from rig.core.protocols.reasons import Reason

PROBLEM_CONTENT_TYPE = https.PROBLEM_CONTENT_TYPE

CATALOGUE: dict[str, Reason] = {
    "no_file": Reason(
        400,
        "No file uploaded",
        "ファイルが選択されていません。裏面のスキャン画像を選んでください。",
    ),
    "bad_multipart": Reason(
        400, "Malformed multipart body", "送信データの形式が正しくありません。"
    ),
    "invalid_document_id": Reason(
        400, "Invalid document id", "文書番号の形式が正しくありません（1〜256 文字）。"
    ),
    "bad_request": Reason(400, "Malformed HTTP request", "送信データの形式が正しくありません。"),
    "not_found": Reason(404, "Not found", "ページが見つかりません。"),
    "method_not_allowed": Reason(405, "Method not allowed", "この操作はできません。"),
    "request_timeout": Reason(
        408, "Request timed out", "送信に時間がかかりすぎました。もう一度お試しください。"
    ),
    "length_required": Reason(
        411, "Content-Length required", "送信データの長さが指定されていません。"
    ),
    "upload_too_large": Reason(
        413,
        "Upload too large",
        "ファイルが大きすぎます。300 dpi 程度でスキャンした画像を送ってください。",
    ),
    "unsupported_format": Reason(
        415,
        "Unsupported file format",
        "対応していない形式です。PNG、JPEG または PDF のファイルを送ってください。",
    ),
    "corrupt_image": Reason(
        422, "Image cannot be read", "画像ファイルが壊れているため読み取れません。"
    ),
    "image_dimensions": Reason(
        422,
        "Image size out of range",
        "画像の大きさが A4 用紙のスキャンとして想定外です。",
    ),
    "resolution_too_low": Reason(
        422,
        "Scan resolution too low",
        "解像度が低すぎます。300 dpi 以上でスキャンしてください。",
    ),
    "corrupt_pdf": Reason(
        422, "PDF cannot be read", "PDF ファイルが壊れているため読み取れません。"
    ),
    "pdf_no_pages": Reason(422, "PDF has no pages", "PDF にページがありません。"),
    "registration_not_found": Reason(
        422,
        "Registration marks not found",
        "位置合わせマークが見つかりません。証明書の裏面全体を、傾けずにスキャンしてください。",
    ),
    "not_a_back": Reason(
        422,
        "Not the back of a certificate, or damaged",
        "スクランブル画像のヘッダーが読み取れません。表面ではなく裏面をスキャンしてください"
        "（汚れや破損があると読み取れません）。",
    ),
    "wrong_key": Reason(
        422,
        "Not issued under this centre's key",
        "この証明書のスクランブル画像は当センターの鍵では復号できません。"
        "当サービスで交付された証明書ではない可能性があります。",
    ),
    "front_unreadable": Reason(
        422,
        "Front scan cannot be registered",
        "表面の位置合わせマークが見つかりません。表面全体を、傾けずにスキャンしてください。",
    ),
    "uri_too_long": Reason(414, "URI too long", "アドレスが長すぎます。"),
    "headers_too_large": Reason(
        431, "Request headers too large", "送信データの形式が正しくありません。"
    ),
    "not_implemented": Reason(501, "Method not implemented", "この操作はできません。"),
    "busy": Reason(503, "Site busy", "混み合っています。しばらくしてからもう一度お試しください。"),
    "internal_error": Reason(500, "Internal error", "内部エラーが発生しました。"),
}


class Problem(https.Problem):
    """A refusal from the catalogue; raise it anywhere below a request handler."""

    def __init__(self, code: str, detail: str | None = None, **extensions: Any):
        kind = CATALOGUE[code]
        super().__init__(
            kind.status, code, kind.title, detail, message_ja=kind.message_ja, **extensions
        )

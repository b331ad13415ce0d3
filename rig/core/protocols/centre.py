"""The issuance centre's kiosk API (証明書交付センター): request bodies and error codes.

Both ends import this module: the emulated centre (emulators/centre) validates what kiosks
send with these models, and the kiosk side (rig/core/drivers/centre_client.py) builds its bodies
with them. docs/api/centre.openapi.yaml is the public contract; tests keep the three in step.

Every error the centre itself raises has a stable `code` here (`CentreCode`); refusals that
come from the resident's municipality are relayed with the municipality's own code (see
docs/api/municipal.openapi.yaml, `RefusalCode`) and `"source": "municipality"`.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import Field

from rig.core.protocols.certificates import CertificateOptions, CertTypeName, StrictModel, WireInt
from rig.core.protocols.reasons import Reason, ReasonCode

API_PREFIX = "/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:-]{8,64}$"
#: The store operator's commission per copy, tax included (seed III.2.5 (2)).
COMMISSION_PER_COPY_YEN = 123
NONCE_BYTES = 32


class OpenSession(StrictModel):
    """Open a session: which kiosk (must equal its certificate's CN), store and operator."""

    kiosk_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    store_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,32}$")
    operator_id: str = Field(pattern=r"^[a-z0-9-]{1,32}$")


class JpkiAuth(StrictModel):
    """JPKI: the authentication certificate and its signature over the session's nonce."""

    certificate: str = Field(min_length=4, max_length=8192, description="base64 DER")
    signature: str = Field(min_length=4, max_length=2048, description="base64")
    nonce: str = Field(pattern=r"^[0-9a-f]{64}$")


class CardApChallengeRequest(StrictModel):
    """Card AP: the card's municipality code and user id (from its info EF)."""

    municipality_code: str = Field(pattern=r"^[0-9]{6}$")
    user_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")


class CardApAuth(StrictModel):
    challenge: str = Field(pattern=r"^[0-9a-f]{32}$")
    response: str = Field(pattern=r"^(?:[0-9a-fA-F]{2}){1,64}$")


class PinEntry(StrictModel):
    pin: str = Field(pattern=r"^[0-9]{4}$")


class CertificateRequest(StrictModel):
    type: CertTypeName
    variant: str | None = Field(default=None, max_length=20)
    copies: WireInt = Field(default=1, ge=1, le=99)
    options: CertificateOptions = CertificateOptions()


class Payment(StrictModel):
    amount_yen: WireInt = Field(ge=0, le=1_000_000)
    method: Literal["cash", "e_money"] = "cash"


class Completion(StrictModel):
    outcome: Literal["printed", "failed"]
    copies_printed: WireInt = Field(ge=0, le=99)


class CentreCode(ReasonCode):
    """Every error the centre raises itself: HTTP status, title, kiosk guidance."""

    # -- hours and availability -----------------------------------------------------------
    CENTRE_CLOSED = Reason(503, "Centre closed", "サービス提供時間外です(6:30～23:00)。")
    CENTRE_MAINTENANCE = Reason(503, "Centre maintenance", "システムメンテナンス中です。")
    CENTRE_FAULT = Reason(503, "Centre fault", "システム障害のため現在ご利用いただけません。")
    JPKI_UNAVAILABLE = Reason(
        503,
        "JPKI centre unavailable",
        "マイナンバーカードの電子証明書を確認できません。時間をおいてお試しください。",
    )
    LGWAN_UNAVAILABLE = Reason(
        503,
        "Municipal network unavailable",
        "市区町村に接続できません。時間をおいてお試しください。",
    )
    MUNICIPALITY_UNREACHABLE = Reason(
        502, "Municipality unreachable", "市区町村に接続できません。時間をおいてお試しください。"
    )
    MUNICIPALITY_TIMEOUT = Reason(
        504, "Municipality did not answer in time", "市区町村からの応答がありません。"
    )
    MUNICIPALITY_ERROR = Reason(
        502, "Municipality answered with an error", "市区町村で障害が発生しています。"
    )
    MUNICIPALITY_UNKNOWN = Reason(
        404, "Municipality not served", "この市区町村はコンビニ交付を行っていません。"
    )
    # -- client and session ---------------------------------------------------------------
    CLIENT_NOT_ALLOWED = Reason(
        403, "Client certificate not allowed here", "この端末は利用できません。"
    )
    KIOSK_CERTIFICATE_MISMATCH = Reason(
        403, "kiosk_id differs from the client certificate", "この端末は利用できません。"
    )
    SESSION_UNKNOWN = Reason(404, "Session unknown", "最初からやり直してください。")
    SESSION_EXPIRED = Reason(410, "Session expired", "時間切れです。最初からやり直してください。")
    NOT_AUTHENTICATED = Reason(409, "Not authenticated yet", "本人確認をしてください。")
    ALREADY_AUTHENTICATED = Reason(409, "Already authenticated", "最初からやり直してください。")
    PIN_NOT_EXPECTED = Reason(409, "No PIN expected now", "最初からやり直してください。")
    CHALLENGE_NOT_REQUESTED = Reason(
        409, "No card challenge pending", "カードを置き直してください。"
    )
    # -- JPKI ---------------------------------------------------------------------------------
    NONCE_MISMATCH = Reason(401, "Nonce is not this session's", "最初からやり直してください。")
    NONCE_REPLAYED = Reason(409, "Nonce already used", "最初からやり直してください。")
    CERTIFICATE_INVALID = Reason(422, "Certificate unreadable", "カードを読み取れませんでした。")
    CERTIFICATE_UNTRUSTED = Reason(
        403, "Certificate not issued by the JPKI authentication CA", "このカードは利用できません。"
    )
    CERTIFICATE_EXPIRED = Reason(403, "Certificate expired", "電子証明書の有効期限が切れています。")
    CERTIFICATE_NOT_YET_VALID = Reason(
        403, "Certificate not yet valid", "電子証明書が有効になっていません。"
    )
    SIGNATURE_INVALID = Reason(401, "Signature invalid", "カードの認証に失敗しました。")
    CERTIFICATE_REVOKED = Reason(
        403, "Certificate revoked", "電子証明書が失効しています。市区町村窓口へお越しください。"
    )
    CERTIFICATE_STATUS_UNKNOWN = Reason(
        403, "Certificate unknown to the JPKI centre", "このカードは利用できません。"
    )
    OCSP_CHECK_FAILED = Reason(
        502, "JPKI status answer unacceptable", "電子証明書を確認できません。"
    )
    JPKI_HOLDER_UNREGISTERED = Reason(
        403,
        "No municipality linked to this certificate",
        "お住まいの市区町村を確認できません。",
    )
    # -- requests, documents, money ---------------------------------------------------------
    REQUEST_UNKNOWN = Reason(404, "Request unknown", "最初からやり直してください。")
    REQUEST_CLOSED = Reason(
        409, "Request already completed or cancelled", "最初からやり直してください。"
    )
    DOCUMENT_NOT_DOWNLOADED = Reason(
        409, "Document not downloaded yet", "証明書データを取得してください。"
    )
    PAYMENT_REQUIRED = Reason(409, "Payment not confirmed", "料金をお支払いください。")
    PAYMENT_MISMATCH = Reason(422, "Amount differs from the fee", "料金が正しくありません。")
    ALREADY_PAID = Reason(409, "Payment already confirmed", "お支払いは済んでいます。")
    DOCUMENT_MISMATCH = Reason(
        502,
        "Document does not belong to the applicant",
        "証明書を交付できません。市区町村窓口へお問い合わせください。",
    )
    PROCESSING_FAILED = Reason(502, "Document could not be prepared", "証明書を交付できません。")
    # -- protocol -----------------------------------------------------------------------------
    IDEMPOTENCY_KEY_REQUIRED = Reason(
        428, "Idempotency-Key header required", "端末の設定を確認してください。"
    )
    IDEMPOTENCY_KEY_INVALID = Reason(
        400, "Idempotency-Key malformed", "端末の設定を確認してください。"
    )
    IDEMPOTENCY_KEY_REUSED = Reason(
        422, "Idempotency-Key reused for another request", "端末の設定を確認してください。"
    )
    IDEMPOTENCY_IN_PROGRESS = Reason(
        409,
        "The first request with this Idempotency-Key is still running",
        "しばらくお待ちください。",
    )
    INVALID_REQUEST = Reason(422, "Invalid request", "端末の設定を確認してください。")


#: Codes the HTTPS layer (rig.core.https) answers with before the centre sees a request.
TRANSPORT_CODES = (
    "not_found",
    "method_not_allowed",
    "invalid_json",
    "invalid_body",
    "unsupported_media_type",
    "body_too_large",
    "invalid_content_length",
    "truncated_body",
    "invalid_chunked_body",
    "transfer_encoding_unsupported",
    "internal_error",
    "http_400",
    "http_414",
    "http_431",
    "http_505",
)

__all__ = [
    "API_PREFIX",
    "COMMISSION_PER_COPY_YEN",
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENCY_KEY_PATTERN",
    "NONCE_BYTES",
    "TRANSPORT_CODES",
    "CardApAuth",
    "CardApChallengeRequest",
    "CentreCode",
    "CertTypeName",
    "CertificateOptions",
    "CertificateRequest",
    "Completion",
    "JpkiAuth",
    "OpenSession",
    "Payment",
    "PinEntry",
    "Reason",
    "jpki_digest_info",
]


#: DER prefix of a SHA-256 DigestInfo (RFC 8017 §9.2 note 1).
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def jpki_digest_info(nonce: bytes) -> bytes:
    """What the kiosk asks the JPKI card to sign for the centre: DigestInfo(SHA-256(nonce)).

    The card pads it (PKCS#1 v1.5) and signs with the authentication key; the result is an
    ordinary RSASSA-PKCS1-v1_5/SHA-256 signature over the nonce, which the centre verifies.
    """
    return SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(nonce).digest()

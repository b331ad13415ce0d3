"""Refusal reasons: one stable code per reason, its HTTP status and its messages.

The kiosk shows guidance per code, so codes never change meaning. docs/municipal.md lists them.
"""

from __future__ import annotations

from rig.core.https import Refused
from rig.core.protocols.reasons import Reason, ReasonCode


class RefusalCode(ReasonCode):
    # -- time (service hours, closures) -------------------------------------------------
    YEAR_END_CLOSURE = Reason(
        503, "Closed for the year end", "年末年始(12月29日～1月3日)は交付できません。"
    )
    CLOSED_DAY = Reason(503, "Closed today", "本日は交付を行っていません。")
    OUTSIDE_SERVICE_HOURS = Reason(503, "Outside service hours", "サービス提供時間外です。")
    MAINTENANCE = Reason(503, "Maintenance", "システムメンテナンス中のため交付できません。")
    KOSEKI_OUTSIDE_HOURS = Reason(
        503, "Family register outside hours", "戸籍関係の証明書は交付時間外です。"
    )
    # -- authentication -----------------------------------------------------------------
    USER_NOT_REGISTERED = Reason(401, "User not registered", "利用者登録がありません。")
    CARD_AP_USER_UNKNOWN = Reason(401, "Card AP user unknown", "カードの利用登録がありません。")
    CARD_RESPONSE_INVALID = Reason(401, "Card response invalid", "カードの認証に失敗しました。")
    CHALLENGE_UNKNOWN = Reason(401, "Challenge unknown or used", "認証をやり直してください。")
    PIN_INCORRECT = Reason(401, "PIN incorrect", "暗証番号が違います。")
    PIN_LOCKED = Reason(423, "PIN locked", "暗証番号がロックされています。窓口へお越しください。")
    PIN_REQUIRED = Reason(401, "PIN not yet verified", "暗証番号を入力してください。")
    SESSION_UNKNOWN = Reason(404, "Session unknown", "最初からやり直してください。")
    SESSION_EXPIRED = Reason(401, "Session expired", "時間切れです。最初からやり直してください。")
    MUNICIPALITY_UNKNOWN = Reason(404, "Municipality unknown", "この市区町村は取り扱っていません。")
    AUTH_METHOD_NOT_OFFERED = Reason(
        403,
        "Authentication method not offered",
        "このカードの認証方式ではこの市区町村の証明書を交付できません。",
    )
    # -- the resident -------------------------------------------------------------------
    RESIDENT_NOT_FOUND = Reason(404, "Resident not found", "該当する住民が見つかりません。")
    NOT_A_RESIDENT = Reason(403, "Not a resident", "この市区町村の住民ではありません。")
    SUPPORT_MEASURE = Reason(
        403,
        "Support measure (DV protection) in place",
        "この証明書はコンビニ交付できません。窓口へお越しください。",
    )
    RESIDENT_DECEASED = Reason(403, "Resident deceased", "この証明書はコンビニ交付できません。")
    UNDER_15 = Reason(403, "Applicant under 15", "15歳未満の方はご利用いただけません。")
    NAME_OUTSIDE_CHARSET = Reason(
        403,
        "Name outside the printable character set",
        "外字を含むため交付できません。窓口へお越しください。",
    )
    HOUSEHOLD_MOVING_OUT = Reason(
        403, "Household member moving out", "転出の届出があるため交付できません。"
    )
    MOVED_IN_TODAY = Reason(403, "Moved in today", "転入当日は交付できません。")
    # -- the certificate ----------------------------------------------------------------
    TYPE_NOT_OFFERED = Reason(
        403, "Certificate type not offered", "この証明書は取り扱っていません。"
    )
    SEAL_NOT_REGISTERED = Reason(403, "No seal registered", "印鑑登録がありません。")
    SEAL_CANCELLED = Reason(403, "Seal registration cancelled", "印鑑登録は廃止されています。")
    TAX_RECORD_NOT_FOUND = Reason(
        403, "No tax record for that year", "該当年度の税情報がありません。"
    )
    KOSEKI_NOT_FOUND = Reason(403, "No family register here", "本市区町村に戸籍がありません。")
    KOSEKI_NOT_REGISTERED = Reason(
        403, "Family register use not registered", "本籍地の利用登録申請が必要です。"
    )
    KOSEKI_REGISTRATION_PENDING = Reason(
        403, "Family register use not yet available", "利用登録の手続中です。"
    )
    MEMBER_NOT_IN_HOUSEHOLD = Reason(
        422, "Member not in household", "選択された方は世帯員ではありません。"
    )
    DOCUMENT_NOT_FOUND = Reason(404, "Document not found", "証明書データがありません。")
    # -- the server ---------------------------------------------------------------------
    SERVICE_UNAVAILABLE = Reason(503, "Service unavailable (fault)", "現在交付できません。")
    API_VERSION_UNSUPPORTED = Reason(400, "Interface version not supported", "現在交付できません。")


class Refusal(Refused[RefusalCode]):
    """Raised inside the model; the server turns it into a problem document."""

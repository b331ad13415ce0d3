"""The reference kiosk's screens: the seed's texts (I.4.2, I.4.4) and the guidance per reason.

Screen texts are Japanese, as the customer reads them; where the seed prints a line on the
screen image (ダウンロード中です。手数料を入れてください。印刷中です。お取り忘れにご注意
ください。領収書をお取りください。) that exact line is used.
"""

from __future__ import annotations

from enum import StrEnum

from rig.core.protocols.centre import CentreCode
from rig.core.protocols.robot import ScreenId

TITLES: dict[ScreenId, str] = {
    ScreenId.CARD_HOLD: "カードかざし",
    ScreenId.CARD_WAIT: "カード待受",
    ScreenId.PIN: "暗証番号入力",
    ScreenId.CARD_REMOVAL: "カード受取",
    ScreenId.CERTIFICATE_CHOICE: "証明書選択",
    ScreenId.ISSUANCE_TYPE: "交付種別入力",
    ScreenId.HOUSEHOLD_SELECTION: "世帯選択",
    ScreenId.ITEMS: "証明書記載項目選択",
    ScreenId.COPIES: "部数入力",
    ScreenId.CONFIRMATION: "内容確認",
    ScreenId.DOWNLOAD: "証明書ダウンロード",
    ScreenId.PAYMENT: "料金支払い",
    ScreenId.PRINTING: "印刷中",
    ScreenId.TAKE_REMINDER: "取り忘れ注意",
    ScreenId.RECEIPT: "領収書印刷",
    ScreenId.NOTICE: "ご案内",
}

CARD_HOLD_TEXT = [
    "マイナンバーカード(または住基カード)をカードリーダに置いてください。",
    "スマートフォンの場合は、スマートフォンをカードリーダに置いてください。",
]
CARD_WAIT_TEXT = ["カードを読み取っています。", "カードを動かさないでください。"]
PIN_TEXT_JPKI = "利用者証明用電子証明書の暗証番号(数字4桁)を入力してください。"
PIN_TEXT_CARD_AP = "カードアプリケーションの暗証番号(数字4桁)を入力してください。"
PIN_WRONG = "暗証番号が違います。"
PIN_LAST_TRY = "次に間違えると暗証番号がロックされます。"
CARD_REMOVAL_TEXT = ["カードをお取りください。", "カードをカードリーダから取り外してください。"]
CERTIFICATE_CHOICE_TEXT = ["取得する証明書を選択してください。"]
ISSUANCE_TYPE_TEXT = ["交付種別を選択してください。"]
HOUSEHOLD_TEXT = ["証明書が必要な方を選択してください。"]
ITEMS_TEXT = ["証明書に記載する項目を選択してください。"]
COPIES_TEXT = "部数を入力してください(最大{max}通)。"
COPIES_LIMIT = "一度に交付できるのは{max}通までです。"
CONFIRMATION_TEXT = "内容を確認してください。よろしければ「申請する」を押してください。"
DOWNLOAD_TEXT = ["ダウンロード中です。"]
PAYMENT_TEXT = "手数料を入れてください。"
PRINTING_TEXT = ["印刷中です。"]
TAKE_REMINDER_TEXT = "お取り忘れにご注意ください。"
RECEIPT_TEXT = ["領収書をお取りください。"]
TAKE_CARD = "カードをお取りください。"
TAKE_CERTIFICATE = "証明書をお取りください。"
TAKE_CHANGE = "お釣りをお取りください。"
BILL_FAULT = "紙幣を受け付けられません。硬貨をご利用いただくか、中止して店員をお呼びください。"

LABEL_OK = "確定"
LABEL_NEXT = "次へ"
LABEL_BACK = "戻る"
LABEL_CANCEL = "中止"
LABEL_CLEAR = "訂正"
LABEL_APPLY = "申請する"
LABEL_CONFIRM = "確認"

#: Certificate types (rig.core.protocols.centre.CertTypeName) as the choice screen names them.
TYPE_LABELS = {
    "resident_record": "住民票の写し",
    "resident_record_entries": "住民票記載事項証明書",
    "seal_registration": "印鑑登録証明書",
    "tax_certificate": "各種税証明書",
    "koseki": "戸籍証明書",
    "fuhyo": "戸籍の附票の写し",
}
VARIANT_LABELS = {
    ("resident_record", "household"): "世帯全員",
    ("resident_record", "members"): "世帯の一部",
    ("resident_record", "self"): "本人のみ",
    ("fuhyo", "household"): "戸籍に記載されている全員",
    ("fuhyo", "self"): "本人のみ",
    ("tax_certificate", "income"): "所得証明書",
    ("tax_certificate", "assessment"): "課税証明書",
    ("tax_certificate", "payment"): "納税証明書",
    ("koseki", "full"): "戸籍全部事項証明書",
    ("koseki", "individual"): "戸籍個人事項証明書",
}
ITEM_LABELS = {
    "include_honseki": "本籍・筆頭者",
    "include_head_relationship": "世帯主・続柄",
    "include_my_number": "個人番号",
}


class NoticeCode(StrEnum):
    """Reasons the kiosk itself shows a notice (the centre's codes come from the centre)."""

    CARD_UNREADABLE = "card_unreadable"
    CARD_NOT_USABLE = "card_not_usable"
    NO_CERTIFICATE = "no_certificate"
    FACE_AUTH_CARD = "face_auth_card"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CARD_PIN_LOCKED = "card_pin_locked"
    CARD_REMOVED = "card_removed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    PRINT_FAILED = "print_failed"
    REFUND_INCOMPLETE = "refund_incomplete"
    CHANGE_INCOMPLETE = "change_incomplete"
    CENTRE_UNREACHABLE = "centre_unreachable"
    CENTRE_ANSWER_INVALID = "centre_answer_invalid"
    KIOSK_FAULT = "kiosk_fault"
    TRAY_NOT_EMPTY = "tray_not_empty"


KIOSK_GUIDANCE: dict[str, str] = {
    NoticeCode.CARD_UNREADABLE: "カードを読み取れませんでした。カードを置き直してください。",
    NoticeCode.CARD_NOT_USABLE: "このカードはご利用いただけません。",
    NoticeCode.NO_CERTIFICATE: (
        "利用者証明用電子証明書が搭載されていないため、ご利用いただけません。"
        "市区町村窓口で電子証明書の発行を受けてください。"
    ),
    NoticeCode.FACE_AUTH_CARD: (
        "顔認証マイナンバーカードはコンビニ交付にご利用いただけません。"
        "市区町村窓口をご利用ください。"
    ),
    NoticeCode.CERTIFICATE_EXPIRED: (
        "電子証明書の有効期限が切れています。市区町村窓口で更新の手続きをしてください。"
    ),
    NoticeCode.CARD_PIN_LOCKED: (
        "暗証番号がロックされています。お住まいの市区町村窓口でロック解除の手続きをしてください。"
    ),
    NoticeCode.CARD_REMOVED: "カードが取り外されたため、処理を中止しました。",
    NoticeCode.TIMEOUT: "一定時間操作がなかったため、処理を中止しました。",
    NoticeCode.CANCELLED: "処理を中止しました。",
    NoticeCode.PRINT_FAILED: (
        "印刷できませんでした。手数料を返却しましたので、お釣り口からお受け取りください。"
    ),
    NoticeCode.REFUND_INCOMPLETE: "返金を完了できませんでした。店員をお呼びください。",
    NoticeCode.CHANGE_INCOMPLETE: "お釣りを全額お返しできませんでした。店員をお呼びください。",
    NoticeCode.CENTRE_UNREACHABLE: "センターに接続できません。時間をおいてお試しください。",
    NoticeCode.CENTRE_ANSWER_INVALID: (
        "センターからの応答を確認できません。時間をおいてお試しください。"
    ),
    NoticeCode.KIOSK_FAULT: "現在この端末はご利用いただけません。",
    NoticeCode.TRAY_NOT_EMPTY: (
        "前のお客様の証明書または領収書が排出口に残っているため、ご利用いただけません。"
        "店員をお呼びください。"
    ),
}

#: Guidance for the municipality's refusal codes (docs/municipal.md), where the kiosk has
#: something more specific to say than the relayed message.
MUNICIPAL_GUIDANCE: dict[str, str] = {
    "year_end_closure": "年末年始(12月29日～1月3日)は交付できません。",
    "closed_day": "本日はお住まいの市区町村の交付日ではありません。",
    "outside_service_hours": "お住まいの市区町村のサービス提供時間外です。",
    "maintenance": "お住まいの市区町村のシステムメンテナンス中のため交付できません。",
    "koseki_outside_hours": "戸籍関係の証明書は交付時間外です。",
    "user_not_registered": (
        "コンビニ交付の利用者登録がありません。市区町村窓口へお問い合わせください。"
    ),
    "card_ap_user_unknown": "カードの利用登録がありません。市区町村窓口へお問い合わせください。",
    "card_response_invalid": "カードの認証に失敗しました。",
    "challenge_unknown": "認証をやり直してください。",
    "pin_incorrect": "暗証番号が違います。",
    "pin_locked": "暗証番号がロックされています。市区町村窓口へお越しください。",
    "session_expired": "時間切れです。最初からやり直してください。",
    "not_a_resident": "この市区町村の住民ではないため交付できません。",
    "support_measure": "この証明書はコンビニ交付できません。市区町村窓口へお越しください。",
    "resident_deceased": "この証明書はコンビニ交付できません。",
    "under_15": "15歳未満の方はご利用いただけません。",
    "name_outside_charset": "外字を含むため交付できません。市区町村窓口へお越しください。",
    "household_moving_out": "転出の届出があるため交付できません。市区町村窓口へお越しください。",
    "moved_in_today": "転入当日は交付できません。翌日以降にご利用ください。",
    "type_not_offered": "この証明書はお住まいの市区町村では取り扱っていません。",
    "seal_not_registered": "印鑑登録がありません。",
    "seal_cancelled": "印鑑登録は廃止されています。",
    "tax_record_not_found": "該当年度の税情報がありません。市区町村窓口へお問い合わせください。",
    "koseki_not_found": "本市区町村に戸籍がありません。",
    "koseki_not_registered": "本籍地の利用登録申請が必要です。",
    "koseki_registration_pending": "本籍地の利用登録の手続中です。",
    "member_not_in_household": "選択された方は世帯員ではありません。",
    "document_not_found": "証明書データがありません。最初からやり直してください。",
    "service_unavailable": "現在交付できません。時間をおいてお試しください。",
    "municipality_unknown": "この市区町村はコンビニ交付を行っていません。",
}

GENERIC_GUIDANCE = "証明書を交付できませんでした。市区町村窓口へお問い合わせください。"


#: The centre's own codes (rig.core.protocols.centre) with the guidance they carry.
CENTRE_GUIDANCE: dict[str, str] = {c.code: c.value.message_ja for c in CentreCode}


def guidance(code: str, relayed: str | None = None) -> str:
    """The guidance shown for a reason code: the kiosk's own text first, then the centre's."""
    for table in (KIOSK_GUIDANCE, MUNICIPAL_GUIDANCE, CENTRE_GUIDANCE):
        if code in table:
            return table[code]
    return relayed or GENERIC_GUIDANCE


def type_label(cert_type: str, variant: str | None = None) -> str:
    if variant is not None and (cert_type, variant) in VARIANT_LABELS:
        return VARIANT_LABELS[(cert_type, variant)]
    return TYPE_LABELS.get(cert_type, cert_type)

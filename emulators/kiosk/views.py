"""What the kiosk's screens show: a `ScreenView` built from the flow's state (pure reads)."""

from __future__ import annotations

from typing import Protocol

from emulators.kiosk import screens as txt
from emulators.kiosk.centre_types import Menu
from emulators.kiosk.screens import NoticeCode
from emulators.kiosk.transaction import Transaction
from emulators.kiosk.ui_state import UiState
from rig.core.protocols.robot import SEED_NUMBERS, Keypad, Method, Option, ScreenId, ScreenView


class ShownState(Protocol):
    """What a screen is drawn from: the kiosk flow's state, read only (the flow draws its
    screens through `render`, so the views name what they read rather than the flow)."""

    seq: int
    screen: ScreenId
    txn: Transaction | None
    force_card_ap: bool
    ui: UiState

    @property
    def method(self) -> Method | None: ...

    @property
    def stale_card(self) -> bool: ...


PIN_LENGTH = 4
#: Screens on which the customer may give up with 中止 (before money is taken).
CANCELLABLE = frozenset(
    {
        ScreenId.PIN,
        ScreenId.CARD_REMOVAL,
        ScreenId.CERTIFICATE_CHOICE,
        ScreenId.ISSUANCE_TYPE,
        ScreenId.HOUSEHOLD_SELECTION,
        ScreenId.ITEMS,
        ScreenId.COPIES,
        ScreenId.CONFIRMATION,
        ScreenId.PAYMENT,
    }
)
BUSY = frozenset({ScreenId.CARD_WAIT, ScreenId.DOWNLOAD, ScreenId.PRINTING})


def render(flow: ShownState) -> ScreenView:
    s = flow.screen
    text: list[str] = []
    options: list[Option] = []
    keypad: Keypad | None = None
    facts: dict[str, int | str | bool | None] = {}
    busy = s in BUSY
    txn = flow.txn
    choice = txn.choice if txn else None
    menu = txn.menu if txn else None
    if s is ScreenId.CARD_HOLD:
        text = list(txt.CARD_HOLD_TEXT)
        options = [
            Option(
                id="use_card_ap",
                label="カードアプリケーションで利用する(住基カード等)",
                selected=flow.force_card_ap,
            )
        ]
    elif s is ScreenId.CARD_WAIT:
        text = list(txt.CARD_WAIT_TEXT)
    elif s is ScreenId.PIN:
        text = [txt.PIN_TEXT_JPKI if flow.method is Method.JPKI else txt.PIN_TEXT_CARD_AP]
        if flow.ui.pin_error:
            text.append(flow.ui.pin_error)
        if flow.ui.pin_tries is not None:
            text.append(f"残り回数:{flow.ui.pin_tries}回")
            if flow.ui.pin_tries == 1:
                text.append(txt.PIN_LAST_TRY)
        keypad = Keypad(kind="pin", length=PIN_LENGTH, entered=len(txn.pin) if txn else 0)
        options = [
            Option(id="ok", label=txt.LABEL_OK, enabled=bool(txn and len(txn.pin) == 4)),
            Option(id="clear", label=txt.LABEL_CLEAR),
        ]
        facts["tries_left"] = flow.ui.pin_tries
    elif s is ScreenId.CARD_REMOVAL:
        text = list(txt.CARD_REMOVAL_TEXT)
    elif s is ScreenId.CERTIFICATE_CHOICE:
        text = list(txt.CERTIFICATE_CHOICE_TEXT)
        if menu is not None:
            options = _type_options(menu)
        else:  # card AP before the PIN: the standard list, availability after the PIN
            options = [Option(id=t, label=label) for t, label in txt.TYPE_LABELS.items()]
    elif s is ScreenId.ISSUANCE_TYPE and menu is not None and choice is not None:
        text = [txt.type_label(choice.cert_type or ""), *txt.ISSUANCE_TYPE_TEXT]
        options = _issuance_options(flow, menu)
        options += _nav(next_enabled=bool(choice.variant or choice.scope))
    elif s is ScreenId.HOUSEHOLD_SELECTION and menu is not None and choice is not None:
        text = list(txt.HOUSEHOLD_TEXT)
        options = [
            Option(
                id=f"member:{m.member_id}",
                label=f"{m.name}({m.relationship})",
                selected=m.member_id in choice.members,
            )
            for m in menu.household
        ]
        options += _nav(next_enabled=bool(choice.members))
    elif s is ScreenId.ITEMS and menu is not None and choice is not None:
        text = list(txt.ITEMS_TEXT)
        options = _item_options(flow, menu)
        options += _nav(next_enabled=True)
    elif s is ScreenId.COPIES and menu is not None and choice is not None:
        text = [txt.COPIES_TEXT.format(max=menu.max_copies)]
        if flow.ui.copies_error:
            text.append(flow.ui.copies_error)
        keypad = Keypad(kind="number", length=2, entered=0, value=choice.copies)
        options = [
            Option(id="plus", label="+", enabled=choice.copies < menu.max_copies),
            Option(id="minus", label="-", enabled=choice.copies > 1),
            *_nav(next_enabled=1 <= choice.copies <= menu.max_copies),
        ]
        facts.update(copies=choice.copies, max_copies=menu.max_copies)
    elif s is ScreenId.CONFIRMATION and menu is not None and choice is not None:
        item = choice.item(menu)
        fee = (item.fee if item else 0) * choice.copies
        text = [
            txt.CONFIRMATION_TEXT,
            f"証明書:{item.title if item else ''}",
            *_summary(flow, menu),
            f"部数:{choice.copies}通",
            f"手数料:{fee}円",
        ]
        options = [
            Option(id="apply", label=txt.LABEL_APPLY),
            Option(id="back", label=txt.LABEL_BACK),
        ]
        facts.update(fee_yen=fee, copies=choice.copies, certificate=choice.cert_type)
    elif s is ScreenId.DOWNLOAD:
        text = list(txt.DOWNLOAD_TEXT)
    elif s is ScreenId.PAYMENT and txn is not None and txn.issued is not None:
        fee = txn.issued.total_fee
        text = [txt.PAYMENT_TEXT, f"手数料:{fee}円", f"投入金額:{txn.credit}円"]
        if txn.credit < fee:
            text.append(f"不足金額:{fee - txn.credit}円")
        if flow.ui.cash_fault:
            text.append(txt.BILL_FAULT)
            facts["cash_fault"] = True
        facts.update(fee_yen=fee, paid_yen=txn.credit)
    elif s is ScreenId.PRINTING:
        text = list(txt.PRINTING_TEXT)
        if flow.ui.printer_problem:
            text.append("プリンタを確認しています。しばらくお待ちください。")
        facts["printer_problem"] = flow.ui.printer_problem
        facts["change_yen"] = flow.ui.change_yen
    elif s is ScreenId.TAKE_REMINDER:
        text = [
            txt.TAKE_REMINDER_TEXT,
            *_reminder_lines(flow),
        ]
        facts["change_yen"] = flow.ui.change_yen
        if flow.ui.change_unpaid:
            facts["unpaid_yen"] = flow.ui.change_unpaid
    elif s is ScreenId.RECEIPT:
        text = list(txt.RECEIPT_TEXT)
    elif s is ScreenId.NOTICE and flow.ui.notice is not None:
        n = flow.ui.notice
        text = [n.message]
        if n.refund_yen:
            text.append(f"返金額:{n.refund_yen}円 お釣り口からお受け取りください。")
        if n.unpaid_yen:
            text.append(f"未返金額:{n.unpaid_yen}円 店員をお呼びください。")
        if flow.stale_card:
            text.append(txt.TAKE_CARD)
        options = [Option(id="ok", label=txt.LABEL_CONFIRM)]
        facts.update(code=n.code, source=n.source, refund_yen=n.refund_yen)
        if n.unpaid_yen:
            facts["unpaid_yen"] = n.unpaid_yen
    if s in CANCELLABLE:  # 中止 comes last on each of them
        options.append(Option(id="cancel", label=txt.LABEL_CANCEL))
    seed = SEED_NUMBERS[flow.method or Method.JPKI].get(s)
    return ScreenView(
        seq=flow.seq,
        screen=s,
        seed_number=seed,
        method=flow.method,
        title=txt.TITLES[s],
        text=text,
        options=options,
        keypad=keypad,
        busy=busy,
        facts=facts,
    )


def _nav(*, next_enabled: bool) -> list[Option]:
    return [
        Option(id="next", label=txt.LABEL_NEXT, enabled=next_enabled),
        Option(id="back", label=txt.LABEL_BACK),
    ]


def _type_options(menu: Menu) -> list[Option]:
    out: list[Option] = []
    for cert_type in dict.fromkeys(item.type for item in menu.certificates):  # in menu order
        items = menu.items_of(cert_type)
        usable = [i for i in items if i.available]
        note = None
        if not usable:
            refused = items[0]
            note = txt.guidance(refused.refusal_code or "", refused.refusal_message)
        out.append(
            Option(
                id=cert_type,
                label=f"{txt.type_label(cert_type)}({min(i.fee for i in items)}円)",
                enabled=bool(usable),
                note=note,
            )
        )
    return out


def _issuance_options(flow: ShownState, menu: Menu) -> list[Option]:
    assert flow.txn is not None
    choice = flow.txn.choice
    items = menu.items_of(choice.cert_type or "")
    if len(items) > 1:  # variants (tax, 戸籍)
        return [
            Option(
                id=i.variant or "",
                label=f"{txt.type_label(i.type, i.variant)}({i.fee}円)",
                enabled=i.available,
                selected=choice.variant == i.variant,
                note=None if i.available else txt.guidance(i.refusal_code or "", i.refusal_message),
            )
            for i in items
        ]
    scopes = (
        ["household", "members", "self"] if "members" in items[0].options else ["household", "self"]
    )
    return [
        Option(
            id=scope,
            label=txt.type_label(choice.cert_type or "", scope),
            selected=choice.scope == scope,
        )
        for scope in scopes
    ]


def _item_options(flow: ShownState, menu: Menu) -> list[Option]:
    assert flow.txn is not None
    choice = flow.txn.choice
    item = choice.item(menu)
    if item is None:
        return []
    if "fiscal_year" in item.options:
        return [
            Option(
                id=f"year:{year}",
                label=f"{year}年度",
                selected=choice.fiscal_year == year,
            )
            for year in menu.tax_years
        ]
    return [
        Option(id=name, label=txt.ITEM_LABELS[name], selected=choice.items.get(name, False))
        for name in txt.ITEM_LABELS
        if name in item.options
    ]


def _summary(flow: ShownState, menu: Menu) -> list[str]:
    assert flow.txn is not None
    choice = flow.txn.choice
    lines: list[str] = []
    if choice.scope:
        lines.append(f"交付種別:{txt.type_label(choice.cert_type or '', choice.scope)}")
    if choice.scope == "members":
        names = [m.name for m in menu.household if m.member_id in choice.members]
        lines.append(f"対象者:{len(names)}名")
    for name, label in txt.ITEM_LABELS.items():
        if name in choice.items:
            lines.append(f"{label}:{'記載する' if choice.items[name] else '記載しない'}")
    if choice.fiscal_year:
        lines.append(f"年度:{choice.fiscal_year}年度")
    return lines


def _reminder_lines(flow: ShownState) -> list[str]:
    lines: list[str] = []
    if flow.ui.tray_sheets > 0:
        lines.append(txt.TAKE_CERTIFICATE)
    if flow.ui.card_on_reader:
        lines.append(txt.TAKE_CARD)
    if flow.ui.change_yen:
        lines.append(txt.TAKE_CHANGE)
    if flow.ui.change_unpaid:
        lines.append(txt.guidance(NoticeCode.CHANGE_INCOMPLETE))
    return lines

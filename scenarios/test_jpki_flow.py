"""The JPKI method's fifteen screens as the customer meets them (seed I.4.1, I.4.2).

The kiosk is judged by its robot protocol only: the screen ids with the seed's numbers in
`history()`, the texts the seed prints on its screen images (ダウンロード中です。 …), the
`facts` of each screen, and, where a requirement says what the kiosk asks for, the centre's
own answers (its menu, read through the centre API with another card of the same resident).
What the kiosk's request carries (members, items, copies) is checked on the wire in
scenarios/test_kiosk_security.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.printer import Fault, FaultKind
from rig.core.protocols.robot import SEED_NUMBERS, Method, ScreenId, ScreenView
from rig.harness.kiosk_steps import (
    apply_and_pay,
    authenticate,
    choose_through_to_confirmation,
    take_everything,
)
from rig.harness.world import CITY, KOSEKI_TOWN, SMALL_TOWN, World
from scenarios.support import KioskSide

pytestmark = pytest.mark.world(marks="layout", with_verification_site=False)

JPKI = SEED_NUMBERS[Method.JPKI]
#: Every screen of a 住民票の写し for some members, in the seed's order (I.4.2 ①–⑮).
FULL_ORDER = [
    ScreenId.CARD_HOLD, ScreenId.CARD_WAIT, ScreenId.PIN, ScreenId.CARD_REMOVAL,
    ScreenId.CERTIFICATE_CHOICE, ScreenId.ISSUANCE_TYPE, ScreenId.HOUSEHOLD_SELECTION,
    ScreenId.ITEMS, ScreenId.COPIES, ScreenId.CONFIRMATION, ScreenId.DOWNLOAD,
    ScreenId.PAYMENT, ScreenId.PRINTING, ScreenId.TAKE_REMINDER, ScreenId.RECEIPT,
]  # fmt: skip


def screens(world: World, since: int = 0) -> list[ScreenId]:
    """The screens shown, without consecutive repeats (a screen redrawn is one screen)."""
    out: list[ScreenId] = []
    for entry in world.robot.history(since):
        if not out or out[-1] is not entry.screen:
            out.append(entry.screen)
    return out


def seed_numbers_in_order(world: World) -> list[str]:
    numbers = []
    for entry in world.robot.history():
        if entry.screen is ScreenId.NOTICE:
            continue
        assert entry.seed_number == SEED_NUMBERS[entry.method or Method.JPKI][entry.screen], entry
        numbers.append(entry.seed_number)
    return numbers


def centre_menu(world: World, resident_id: str, code: str = CITY) -> dict[str, Any]:
    """The municipality's menu for this resident, as the centre serves it to any kiosk."""
    kiosk = KioskSide.connect(world)
    try:
        sid, _ = kiosk.login_jpki(world.issue_card("mynumber-valid", resident_id, code=code))
        menu = kiosk.client.menu(sid)
        kiosk.client.end_session(sid)
        return menu
    finally:
        kiosk.close()


def centre_issued(world: World) -> list[dict[str, Any]]:
    assert world.evidence is not None
    return [r for r in world.evidence.records("centre") if r["event"] == "issued"]


def text_of(view: ScreenView) -> str:
    return view.all_text


@pytest.fixture
def three(world: World) -> Iterator[str]:
    """A resident in a household of three."""
    yield world.resident(trait="household_of_3")


# -- the whole walk -----------------------------------------------------------------------------
@pytest.mark.smoke
@pytest.mark.requirement(
    "JPKI-FLOW-001", "JPKI-FLOW-003", "JPKI-FLOW-004", "JPKI-FLOW-005", "JPKI-FLOW-012",
    "JPKI-FLOW-015", "JPKI-FLOW-016",
)  # fmt: skip
def test_resident_record_for_some_members_walks_the_fifteen_screens_in_order(
    world: World, three: str
) -> None:
    card = world.issue_card("mynumber-valid", three)
    authenticate(world, card)
    c = world.customer
    c.tap("resident_record")
    c.tap("members")
    view = c.tap("next")
    c.tap(next(o.id for o in view.options if o.id.startswith("member:")))
    view = c.tap("next")
    assert view.screen is ScreenId.ITEMS
    c.tap("next")
    view = c.tap("next")
    assert view.screen is ScreenId.CONFIRMATION
    c.begin_cash("flow")
    c.tap("apply")
    view = c.wait_for(ScreenId.PAYMENT)
    # ⑪ is over before ⑫ asks for money: the document is already at the kiosk
    assert world.robot.held().documents == 1
    c.pay(100, 100)
    view = c.wait_for(ScreenId.TAKE_REMINDER)
    assert "お取り忘れにご注意ください。" in view.text
    c.take_certificates()
    view = c.wait_for(ScreenId.RECEIPT)
    assert "領収書をお取りください。" in view.text
    take_everything(world)
    assert c.receipts and c.receipts[0].checks["size_ok"], "⑮ printed the receipt"
    assert screens(world) == [*FULL_ORDER, ScreenId.CARD_HOLD]
    numbers = seed_numbers_in_order(world)
    assert numbers == [*"①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮", "①"]
    assert world.robot.history()[-1].screen is ScreenId.CARD_HOLD


@pytest.mark.requirement("JPKI-FLOW-002")
def test_idle_kiosk_asks_for_the_card_on_the_reader(world: World) -> None:
    view = world.customer.sees()
    assert view.screen is ScreenId.CARD_HOLD and view.seed_number == "①"
    assert "カードリーダ" in text_of(view) and "置いて" in text_of(view)
    assert view.keypad is None
    later = world.robot.screen(after=view.seq, wait=0.3)
    assert later.screen is ScreenId.CARD_HOLD, "idle, it stays on ①"


@pytest.mark.requirement("JPKI-FLOW-002")
def test_after_a_transaction_the_kiosk_is_back_on_the_card_screen(world: World) -> None:
    card = world.issue_card("mynumber-valid", world.resident())
    authenticate(world, card)
    view = world.customer.cancel()
    view = world.customer.wait_for(ScreenId.NOTICE, ScreenId.CARD_HOLD)
    if view.screen is ScreenId.NOTICE:
        world.customer.tap("ok")
    view = world.customer.wait_for(ScreenId.CARD_HOLD)
    assert "カードリーダ" in text_of(view)


# -- ② to ⑤ -------------------------------------------------------------------------------------
@pytest.mark.requirement("JPKI-FLOW-003")
@pytest.mark.parametrize(
    ("profile", "pin_expected"), [("mynumber-valid", True), ("mynumber-face-auth-only", False)]
)
def test_card_waiting_screen_comes_before_any_pin(
    world: World, profile: str, pin_expected: bool
) -> None:
    card = world.issue_card(profile, world.resident())
    c = world.customer
    c.place_card(card.card)
    view = c.wait_for(ScreenId.PIN, ScreenId.NOTICE)
    shown = screens(world)
    assert shown[:2] == [ScreenId.CARD_HOLD, ScreenId.CARD_WAIT]
    assert (ScreenId.PIN in shown) is pin_expected, "a PIN only for a card judged usable"
    assert (view.screen is ScreenId.PIN) is pin_expected


@pytest.mark.requirement("JPKI-FLOW-004")
def test_pin_is_asked_while_the_card_is_on_the_reader(world: World) -> None:
    card = world.issue_card("mynumber-valid", world.resident())
    c = world.customer
    c.place_card(card.card)
    view = c.wait_for(ScreenId.PIN)
    assert view.method is Method.JPKI and view.seed_number == "③"
    assert view.keypad is not None and view.keypad.kind == "pin"
    assert "暗証番号" in text_of(view)
    assert ScreenId.CERTIFICATE_CHOICE not in screens(world), "the PIN comes before ⑤"
    # the PIN needs the card: without it there is nothing to verify
    c.remove_card()
    view = c.wait_for(ScreenId.NOTICE)
    assert view.facts["code"] == "card_removed"


@pytest.mark.requirement("JPKI-FLOW-005")
def test_certificate_choice_only_once_the_card_has_left(world: World) -> None:
    card = world.issue_card("mynumber-valid", world.resident())
    c = world.customer
    c.place_card(card.card)
    c.wait_for(ScreenId.PIN)
    view = c.enter_pin(card.pins["auth_pin"])
    view = c.wait_for(ScreenId.CARD_REMOVAL)
    assert view.seed_number == "④"
    world.customer.wait(20)  # well inside the screen's time-out
    view = world.robot.screen(after=view.seq, wait=0.5)
    assert view.screen is ScreenId.CARD_REMOVAL, "the card is still there: no ⑤ yet"
    assert all(o.id != "resident_record" for o in view.options)
    c.remove_card()
    view = c.wait_for(ScreenId.CERTIFICATE_CHOICE)
    assert view.seed_number == "⑤"


@pytest.mark.requirement("JPKI-FLOW-006")
@pytest.mark.parametrize(
    ("code", "trait"), [(CITY, "koseki_here"), (SMALL_TOWN, "eligible"), (KOSEKI_TOWN, "eligible")]
)
def test_choice_offers_exactly_what_the_municipality_issues(
    world: World, code: str, trait: str
) -> None:
    rid = world.resident(code, trait=trait)
    menu = centre_menu(world, rid, code)
    offered = {c["type"] for c in menu["certificates"]}
    available = {c["type"] for c in menu["certificates"] if c["available"]}
    view = authenticate(world, world.issue_card("mynumber-valid", rid, code=code))
    types = {o.id: o for o in view.options if o.id not in ("cancel", "back")}
    assert set(types) == offered, "every type the municipality offers, no other"
    assert {t for t, o in types.items() if o.enabled} == available
    for option in types.values():
        assert option.enabled or option.note, "an unavailable type says why"


@pytest.mark.requirement("JPKI-FLOW-006")
def test_a_type_unavailable_for_this_resident_is_not_offered_as_available(world: World) -> None:
    rid = world.resident(trait="no_seal")
    view = authenticate(world, world.issue_card("mynumber-valid", rid))
    seal = view.option("seal_registration")
    assert seal is not None and not seal.enabled and seal.note
    record = view.option("resident_record")
    assert record is not None and record.enabled


# -- ⑥ to ⑩ -------------------------------------------------------------------------------------
@pytest.mark.requirement("JPKI-FLOW-007")
def test_resident_record_asks_whole_household_or_some_members(world: World) -> None:
    authenticate(world, world.issue_card("mynumber-valid", world.resident()))
    view = world.customer.tap("resident_record")
    assert view.screen is ScreenId.ISSUANCE_TYPE and view.seed_number == "⑥"
    ids = {o.id for o in view.options}
    assert {"household", "members"} <= ids
    labels = {o.id: o.label for o in view.options}
    assert labels["household"] == "世帯全員" and labels["members"] == "世帯の一部"


@pytest.mark.requirement("JPKI-FLOW-008")
def test_household_screen_lists_the_users_own_household(world: World, three: str) -> None:
    menu = centre_menu(world, three)
    household = {m["member_id"] for m in menu["household"]}
    authenticate(world, world.issue_card("mynumber-valid", three))
    c = world.customer
    c.tap("resident_record")
    c.tap("members")
    view = c.tap("next")
    assert view.screen is ScreenId.HOUSEHOLD_SELECTION and view.seed_number == "⑦"
    listed = {o.id.removeprefix("member:") for o in view.options if o.id.startswith("member:")}
    assert listed == household and len(listed) == 3
    nxt = view.option("next")
    assert nxt is not None and not nxt.enabled, "someone must be chosen"


@pytest.mark.requirement("JPKI-FLOW-008")
@pytest.mark.parametrize("chosen", [1, 2])
def test_exactly_the_members_selected_are_issued(world: World, three: str, chosen: int) -> None:
    authenticate(world, world.issue_card("mynumber-valid", three))
    c = world.customer
    c.tap("resident_record")
    c.tap("members")
    view = c.tap("next")
    members = [o.id for o in view.options if o.id.startswith("member:")]
    for member in members[:chosen]:
        view = c.tap(member)
    view = c.tap(members[-1])  # tick and untick the last one: toggles
    view = c.tap(members[-1])
    assert sum(bool(o.selected) for o in view.options if o.id in members) == chosen
    c.tap("next")
    c.tap("next")
    view = c.tap("next")
    assert view.screen is ScreenId.CONFIRMATION and f"対象者:{chosen}名" in view.text
    apply_and_pay(world)
    take_everything(world)
    assert world.evidence is not None
    issued = [r for r in world.evidence.records("municipal") if r["event"] == "issued"]
    assert len(issued) == 1
    wanted = sorted(m.removeprefix("member:") for m in members[:chosen])
    assert sorted(issued[0]["subjects"]) == wanted, "the certificate names exactly them"


@pytest.mark.requirement("JPKI-FLOW-009")
def test_items_screen_toggles_each_optional_item(world: World) -> None:
    authenticate(world, world.issue_card("mynumber-valid", world.resident()))
    c = world.customer
    c.tap("resident_record")
    view = c.tap("next")
    assert view.screen is ScreenId.ITEMS and view.seed_number == "⑧"
    items = ("include_honseki", "include_head_relationship", "include_my_number")
    before = {i: bool(view.option(i) and view.option(i).selected) for i in items}  # type: ignore[union-attr]
    for item in items:
        view = c.tap(item)
    after = {i: bool(view.option(i) and view.option(i).selected) for i in items}  # type: ignore[union-attr]
    assert after == {i: not v for i, v in before.items()}, "each item toggles on its own"
    c.tap("next")
    view = c.tap("next")
    assert view.screen is ScreenId.CONFIRMATION
    for item, label in (
        ("include_honseki", "本籍・筆頭者"),
        ("include_head_relationship", "世帯主・続柄"),
        ("include_my_number", "個人番号"),
    ):
        shown = "記載する" if after[item] else "記載しない"
        assert f"{label}:{shown}" in view.text


@pytest.mark.requirement("JPKI-FLOW-010", "JPKI-FLOW-011")
@pytest.mark.parametrize("copies", [1, 3])
def test_copies_reach_confirmation_fee_and_centre(world: World, copies: int) -> None:
    authenticate(world, world.issue_card("mynumber-valid", world.resident()))
    c = world.customer
    c.tap("resident_record")
    c.tap("next")
    view = c.tap("next")
    assert view.screen is ScreenId.COPIES and view.seed_number == "⑨"
    assert view.facts["copies"] == 1 and int(view.facts["max_copies"] or 0) >= 3
    view = c.type_number(copies)
    assert view.facts["copies"] == copies
    view = c.tap("next")
    assert view.screen is ScreenId.CONFIRMATION
    fee = int(view.facts["fee_yen"] or 0)
    assert view.facts["copies"] == copies and fee == 200 * copies
    assert f"部数:{copies}通" in view.text and f"手数料:{fee}円" in view.text
    assert "証明書:住民票の写し" in view.text
    assert centre_issued(world) == [], "nothing requested before 申請する"
    apply_and_pay(world)
    issued = centre_issued(world)
    assert [r["copies"] for r in issued] == [copies]
    take_everything(world)


@pytest.mark.requirement("JPKI-FLOW-010")
def test_copies_beyond_the_limit_are_refused(world: World) -> None:
    authenticate(world, world.issue_card("mynumber-valid", world.resident()))
    c = world.customer
    c.tap("resident_record")
    c.tap("next")
    view = c.tap("next")
    limit = int(view.facts["max_copies"] or 0)
    view = c.type_number(limit + 1)
    assert int(view.facts["copies"] or 0) <= limit
    plus = c.type_number(limit).option("plus")
    assert plus is not None and not plus.enabled


@pytest.mark.requirement("JPKI-FLOW-011")
def test_nothing_is_applied_until_the_user_confirms(world: World) -> None:
    authenticate(world, world.issue_card("mynumber-valid", world.resident()))
    view = choose_through_to_confirmation(world, "resident_record")
    assert view.seed_number == "⑩" and view.option("apply") is not None
    assert view.facts["certificate"] == "resident_record"
    view = world.customer.tap("back")
    assert view.screen is ScreenId.COPIES
    view = world.customer.tap("next")
    assert view.screen is ScreenId.CONFIRMATION
    assert centre_issued(world) == []
    world.customer.cancel()
    assert centre_issued(world) == [], "a cancel on ⑩ sends no application"


# -- ⑪ to ⑮ -------------------------------------------------------------------------------------
@pytest.mark.requirement("JPKI-FLOW-012", "JPKI-FLOW-013")
def test_payment_screen_shows_fee_and_money_counted(world: World) -> None:
    authenticate(world, world.issue_card("mynumber-valid", world.resident()))
    choose_through_to_confirmation(world, "resident_record")
    c = world.customer
    c.begin_cash("flow")
    c.tap("apply")
    view = c.wait_for(ScreenId.PAYMENT)
    assert view.seed_number == "⑫" and "手数料を入れてください。" in view.text
    assert view.facts["fee_yen"] == 200 and view.facts["paid_yen"] == 0
    history = screens(world)
    assert history[-2:] == [ScreenId.DOWNLOAD, ScreenId.PAYMENT], "⑪ then ⑫"
    assert world.evidence is not None
    events = [r["event"] for r in world.evidence.records("centre")]
    assert "downloaded" in events and "paid" not in events
    c.pay(100)
    while view.facts["paid_yen"] != 100:
        view = world.robot.screen(after=view.seq, wait=2)
    assert view.screen is ScreenId.PAYMENT and view.facts["fee_yen"] == 200
    c.pay(100)
    c.wait_for(ScreenId.TAKE_REMINDER)
    take_everything(world)


@pytest.mark.requirement("JPKI-FLOW-014")
def test_printing_screen_while_the_certificate_prints(world: World) -> None:
    world.printer.inject(Fault(FaultKind.PAPER_OUT, sheets=0))  # hold the job on ⑬
    authenticate(world, world.issue_card("mynumber-valid", world.resident()))
    choose_through_to_confirmation(world, "resident_record")
    c = world.customer
    c.begin_cash("flow")
    c.tap("apply")
    c.wait_for(ScreenId.PAYMENT)
    c.pay(100, 100)
    view = c.wait_for(ScreenId.PRINTING)
    assert view.seed_number == "⑬" and "印刷中です。" in view.text
    assert world.customer.printer is not None and world.customer.printer.tray_empty()
    world.printer.faults.refill()
    view = c.wait_for(ScreenId.TAKE_REMINDER)
    assert c.take_certificates(), "the sheets printed while ⑬ showed"
    take_everything(world)


# -- JPKI-FLOW-017: the screens each type needs, in the same order -------------------------------
#: (type, variant to pick on ⑥ or None, resident trait)
TYPES = [
    ("resident_record_entries", None, "eligible"),
    ("seal_registration", None, "seal_registered"),
    ("tax_certificate", "income", "tax_record"),
    ("koseki", "full", "koseki_here"),
    ("fuhyo", None, "koseki_here"),
]


@pytest.mark.requirement("JPKI-FLOW-017")
@pytest.mark.parametrize(("cert_type", "variant", "trait"), TYPES, ids=[t[0] for t in TYPES])
def test_other_types_skip_household_and_unneeded_items(
    world: World, cert_type: str, variant: str | None, trait: str
) -> None:
    rid = world.resident(trait=trait)
    menu = centre_menu(world, rid)
    entries = [c for c in menu["certificates"] if c["type"] == cert_type]
    options = {o for c in entries for o in c.get("options") or ()}
    view = authenticate(world, world.issue_card("mynumber-valid", rid))
    start = view.seq
    view = choose_through_to_confirmation(world, cert_type, variant=variant)
    assert view.facts["certificate"] == cert_type
    shown = screens(world, start)
    assert ScreenId.HOUSEHOLD_SELECTION not in shown, "⑦ is for 住民票 世帯の一部 only"
    wants_items = any(o.startswith("include_") or o == "fiscal_year" for o in options)
    assert (ScreenId.ITEMS in shown) is wants_items
    order = [s for s in FULL_ORDER if s in shown]
    assert shown == order, "the remaining screens keep the seed's order"
    assert shown[-2:] == [ScreenId.COPIES, ScreenId.CONFIRMATION]
    world.customer.cancel()


@pytest.mark.requirement("JPKI-FLOW-017")
def test_whole_household_resident_record_skips_only_the_household_screen(world: World) -> None:
    view = authenticate(world, world.issue_card("mynumber-valid", world.resident()))
    start = view.seq
    choose_through_to_confirmation(world, "resident_record", variant="household")
    assert screens(world, start) == [
        ScreenId.ISSUANCE_TYPE, ScreenId.ITEMS, ScreenId.COPIES, ScreenId.CONFIRMATION,
    ]  # fmt: skip
    world.customer.cancel()

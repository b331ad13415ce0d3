"""The card AP method's screens (カードAP認証方式, seed I.4.3, I.4.4).

Judged at the robot protocol (screen ids, the seed's numbers for the card AP method, facts)
and at the card (the reader-side APDU trace in the evidence): the card AP is authenticated
with INTERNAL AUTHENTICATE while the card lies on the reader, the card leaves before the
certificate choice, and the PIN is asked only after it.
"""

from __future__ import annotations

from typing import Any

import pytest

from rig.core.protocols import card_ap
from rig.core.protocols.robot import SEED_NUMBERS, Method, ScreenId
from rig.harness.kiosk_steps import (
    apply_and_pay,
    authenticate,
    choose_through_to_confirmation,
    take_everything,
)
from rig.harness.world import CARD_AP_PIN, World

pytestmark = pytest.mark.world(marks="layout", with_verification_site=False)

CARD_AP = SEED_NUMBERS[Method.CARD_AP]
#: I.4.4 ①–⑮ for a 住民票の写し for some members.
CARD_AP_ORDER = [
    ScreenId.CARD_HOLD, ScreenId.CARD_WAIT, ScreenId.CARD_REMOVAL, ScreenId.CERTIFICATE_CHOICE,
    ScreenId.PIN, ScreenId.ISSUANCE_TYPE, ScreenId.HOUSEHOLD_SELECTION, ScreenId.ITEMS,
    ScreenId.COPIES, ScreenId.CONFIRMATION, ScreenId.DOWNLOAD, ScreenId.PAYMENT,
    ScreenId.PRINTING, ScreenId.TAKE_REMINDER, ScreenId.RECEIPT,
]  # fmt: skip
INTERNAL_AUTHENTICATE = card_ap.internal_authenticate(bytes(card_ap.CHALLENGE_LENGTH))[:2].hex()


def screens(world: World, since: int = 0) -> list[ScreenId]:
    out: list[ScreenId] = []
    for entry in world.robot.history(since):
        if not out or out[-1] is not entry.screen:
            out.append(entry.screen)
    return out


def records(world: World, channel: str) -> list[dict[str, Any]]:
    assert world.evidence is not None
    return list(world.evidence.records(channel))


def first_seq(world: World, channel: str, **match: object) -> int:
    for record in records(world, channel):
        if all(record.get(k) == v for k, v in match.items()):
            return int(record["seq"])
    raise AssertionError(f"no {match} in {channel}")


def internal_authenticates(world: World) -> list[dict[str, Any]]:
    return [
        r for r in records(world, "apdu")
        if r["event"] == "transmit" and str(r["command"]).startswith(INTERNAL_AUTHENTICATE)
    ]  # fmt: skip


@pytest.mark.smoke
@pytest.mark.requirement("CARDAP-FLOW-001", "CARDAP-FLOW-007", "CARD-002")
def test_juki_card_resident_record_walks_the_card_ap_screens_in_order(world: World) -> None:
    card = world.issue_card("juki-card-ap", world.resident(trait="household_of_3"))
    view = authenticate(world, card)
    assert view.method is Method.CARD_AP and view.seed_number == "④"
    c = world.customer
    view = c.tap("resident_record")
    assert view.screen is ScreenId.PIN and view.seed_number == "⑤"
    view = c.enter_pin(CARD_AP_PIN)
    assert view.screen is ScreenId.ISSUANCE_TYPE and view.seed_number == "⑥"
    c.tap("members")
    view = c.tap("next")
    c.tap(next(o.id for o in view.options if o.id.startswith("member:")))
    c.tap("next")
    c.tap("next")
    view = c.tap("next")
    assert view.screen is ScreenId.CONFIRMATION and "対象者:1名" in view.text
    view = apply_and_pay(world)
    assert "お取り忘れにご注意ください。" in view.text
    take_everything(world)
    assert screens(world) == [*CARD_AP_ORDER, ScreenId.CARD_HOLD]
    for entry in world.robot.history():
        if entry.method is Method.CARD_AP:
            assert entry.seed_number == CARD_AP[entry.screen], entry
    numbers = [e.seed_number for e in world.robot.history() if e.method is Method.CARD_AP]
    assert "".join(dict.fromkeys(n or "" for n in numbers)) == "③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮"
    assert world.customer.certificates and world.customer.receipts
    assert world.robot.held().empty


@pytest.mark.requirement("CARDAP-FLOW-002")
@pytest.mark.parametrize("profile", ["juki-card-ap", "mynumber-card-ap"])
def test_card_ap_is_authenticated_on_the_reader_before_removal(world: World, profile: str) -> None:
    """Judged at the interfaces: by the time the kiosk shows ③ (remove the card), the card on
    the reader has answered INTERNAL AUTHENTICATE and the centre has verified it; the card
    leaves only after that. The reference kiosk's audit log also dates the screen itself."""
    card = world.issue_card(profile, world.resident())
    c = world.customer
    if profile == "mynumber-card-ap":
        c.tap("use_card_ap")
    c.place_card(card.card)
    view = c.wait_for(ScreenId.CARD_REMOVAL, ScreenId.NOTICE, ScreenId.PIN)
    assert view.screen is ScreenId.CARD_REMOVAL and view.method is Method.CARD_AP
    assert view.seed_number == "③"
    assert world.evidence is not None
    # a mark in the evidence's sequence: everything before it happened before the rig saw ③
    seen = int(world.evidence.record("scenario", "saw_screen", screen="card_removal")["seq"])
    answered = internal_authenticates(world)
    assert len(answered) == 1 and answered[0]["sw"] == "9000", "the card AP answered the challenge"
    assert answered[0]["seq"] < seen, "authenticated while the card was on the reader"
    assert first_seq(world, "centre", event="card_verified") < seen
    if world.reference_kiosk is not None:
        removal = first_seq(world, "kiosk-audit", event="screen", screen="card_removal")
        assert answered[0]["seq"] < removal, "authenticated before the removal screen showed"
        assert first_seq(world, "centre", event="card_verified") < removal
    c.remove_card()
    assert c.wait_for(ScreenId.CERTIFICATE_CHOICE).method is Method.CARD_AP


@pytest.mark.requirement("CARDAP-FLOW-002")
def test_a_card_ap_unknown_to_the_municipality_is_refused_before_removal(world: World) -> None:
    card = world.issue_card("juki-card-ap", None)  # the card AP exists but nobody registered it
    c = world.customer
    c.place_card(card.card)
    view = c.wait_for(ScreenId.NOTICE, ScreenId.CARD_REMOVAL)
    assert view.screen is ScreenId.NOTICE, "not usable: no removal screen, no choice"
    assert ScreenId.CERTIFICATE_CHOICE not in screens(world)
    assert world.robot.held().empty


@pytest.mark.requirement("CARDAP-FLOW-003")
def test_card_leaves_before_the_choice_and_no_pin_while_it_is_there(world: World) -> None:
    card = world.issue_card("juki-card-ap", world.resident())
    c = world.customer
    c.place_card(card.card)
    view = c.wait_for(ScreenId.CARD_REMOVAL, ScreenId.NOTICE, ScreenId.PIN)
    assert view.screen is ScreenId.CARD_REMOVAL
    assert view.keypad is None, "no PIN pad while the card is on the reader"
    world.customer.wait(20)
    view = world.robot.screen(after=view.seq, wait=0.5)
    assert view.screen is ScreenId.CARD_REMOVAL, "still waiting for the card to leave"
    assert ScreenId.PIN not in screens(world)
    c.remove_card()
    view = c.wait_for(ScreenId.CERTIFICATE_CHOICE)
    assert view.keypad is None
    shown = screens(world)
    assert shown.index(ScreenId.CARD_REMOVAL) < shown.index(ScreenId.CERTIFICATE_CHOICE)
    assert ScreenId.PIN not in shown
    view = c.tap("resident_record")
    assert view.screen is ScreenId.PIN, "the PIN comes after the choice"
    assert "暗証番号" in view.all_text and view.keypad is not None and view.keypad.kind == "pin"
    world.customer.cancel()


#: (type, variant, trait)
SAME_AS_JPKI = [
    ("resident_record", "household", "eligible"),
    ("tax_certificate", "income", "tax_record"),
    ("koseki", "full", "koseki_here"),
]


@pytest.mark.requirement("CARDAP-FLOW-007")
@pytest.mark.parametrize(
    ("cert_type", "variant", "trait"), SAME_AS_JPKI, ids=[t[0] for t in SAME_AS_JPKI]
)
def test_issuance_type_to_confirmation_same_as_jpki(
    world: World, cert_type: str, variant: str, trait: str
) -> None:
    rid = world.resident(trait=trait)
    shown: dict[Method, list[ScreenId]] = {}
    confirmation: dict[Method, tuple[Any, ...]] = {}
    for method, profile in ((Method.JPKI, "mynumber-valid"), (Method.CARD_AP, "juki-card-ap")):
        view = authenticate(world, world.issue_card(profile, rid))
        assert view.method is method
        start = view.seq
        view = choose_through_to_confirmation(world, cert_type, variant=variant, pin=CARD_AP_PIN)
        shown[method] = [s for s in screens(world, start) if s is not ScreenId.PIN]
        confirmation[method] = (view.facts["fee_yen"], view.facts["copies"], view.text)
        world.customer.cancel()
        view = world.customer.wait_for(ScreenId.NOTICE, ScreenId.CARD_HOLD)
        if view.screen is ScreenId.NOTICE:
            world.customer.tap("ok")
        world.customer.wait_for(ScreenId.CARD_HOLD)
    assert shown[Method.CARD_AP] == shown[Method.JPKI]
    assert confirmation[Method.CARD_AP] == confirmation[Method.JPKI], "same content on ⑩"


@pytest.mark.requirement("CARD-002")
@pytest.mark.parametrize("profile", ["juki-card-ap", "mynumber-card-ap"])
def test_both_card_kinds_with_the_card_ap_issue(world: World, profile: str) -> None:
    card = world.issue_card(profile, world.resident())
    if profile == "mynumber-card-ap":
        world.customer.tap("use_card_ap")
    view = authenticate(world, card)
    assert view.method is Method.CARD_AP
    choose_through_to_confirmation(world, "resident_record", pin=CARD_AP_PIN)
    apply_and_pay(world)
    take_everything(world)
    assert world.customer.certificates
    assert world.evidence is not None
    auth = [r for r in world.evidence.records("centre") if r["event"] == "authenticated"]
    assert [r["method"] for r in auth] == ["card_ap"]

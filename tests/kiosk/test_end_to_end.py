"""End to end through every real interface: PC/SC card, serial cash, IPP printer, HTTPS centre.

Both authentication methods for every certificate type (seed I.1): the customer walks the
seed's screens, pays the exact fee, and takes the certificate and the receipt; the sheets
must carry the applicant's data and the kiosk must hold nothing afterwards.
"""

from __future__ import annotations

import pytest

from rig.core.protocols.robot import SEED_NUMBERS, Method, ScreenId
from rig.harness.kiosk_steps import (
    apply_and_pay,
    authenticate,
    choose_through_to_confirmation,
    take_everything,
)
from rig.harness.world import CARD_AP_PIN
from rig.harness.world import World as KioskWorld

#: (certificate type, variant, resident trait, fee at みなと市)
CERTIFICATES = [
    ("resident_record", None, "eligible", 200),
    ("resident_record_entries", None, "eligible", 200),
    ("seal_registration", None, "seal_registered", 200),
    ("tax_certificate", "income", "tax_record", 200),
    ("koseki", "full", "koseki_here", 350),
    ("fuhyo", None, "koseki_here", 200),
]
PROFILES = {Method.JPKI: "mynumber-valid", Method.CARD_AP: "juki-card-ap"}


@pytest.mark.parametrize("method", [Method.JPKI, Method.CARD_AP], ids=lambda m: m.value)
@pytest.mark.parametrize(
    ("cert_type", "variant", "trait", "fee"), CERTIFICATES, ids=[c[0] for c in CERTIFICATES]
)
def test_issuance(
    world: KioskWorld, method: Method, cert_type: str, variant: str | None, trait: str, fee: int
) -> None:
    rid = world.resident(trait=trait)
    card = world.issue_card(PROFILES[method], rid)
    view = authenticate(world, card)
    assert view.method is method
    assert view.seed_number == SEED_NUMBERS[method][ScreenId.CERTIFICATE_CHOICE]
    view = choose_through_to_confirmation(world, cert_type, variant=variant, pin=CARD_AP_PIN)
    assert view.facts["fee_yen"] == fee, "the fee is shown before payment (⑩)"
    assert f"手数料:{fee}円" in view.text
    view = apply_and_pay(world)
    assert view.screen is ScreenId.TAKE_REMINDER, view.text
    assert "お取り忘れにご注意ください。" in view.text
    take_everything(world)

    sheets = world.customer.certificates
    assert sheets and all(s.checks["size_ok"] for s in sheets)
    assert world.customer.receipts, "⑮ printed a receipt"
    # every printed page belongs to the applicant (machine-readable RID line, municipal PDF)
    assert world.robot.held().empty
    assert world.centre.held_documents() == 0
    rows = world.centre.settlement()
    assert sum(int(r["copies"]) for r in rows) == 1
    history = world.robot.history()
    numbers = [ord(e.seed_number or "?") for e in history[:-1]]
    assert numbers == sorted(set(numbers)), "screens in the seed's order, none repeated"
    assert history[-1].screen is ScreenId.CARD_HOLD, "back to ① for the next customer"
    assert {ScreenId.DOWNLOAD, ScreenId.PAYMENT, ScreenId.PRINTING} <= {e.screen for e in history}
    summary = world.cash.ledger.summary(world.cash.customer.session)
    assert summary.net_yen == fee and summary.customer_owed_yen == 0


def test_household_of_eight_prints_three_pages_on_two_duplex_sheets(world: KioskWorld) -> None:
    """A 3-page 住民票 for the applicant's household: duplex, 2 sheets, the applicant's document."""
    rid = world.resident(trait="household_of_8")
    card = world.issue_card("mynumber-valid", rid)
    authenticate(world, card)
    choose_through_to_confirmation(world, "resident_record")
    apply_and_pay(world)
    take_everything(world)
    assert world.evidence is not None
    issued = [r for r in world.evidence.records("municipal") if r["event"] == "issued"]
    assert [r["resident_id"] for r in issued] == [rid]
    rendered = [r for r in world.evidence.records("printer-print") if r["event"] == "job-rendered"]
    assert rendered and rendered[0]["pages"] == issued[0]["pages"] == 3
    sheets = world.customer.certificates
    assert len(sheets) == 2
    assert not sheets[0].checks["back_blank"] and sheets[1].checks["back_blank"], "duplex"


def test_next_customer_sees_nothing_of_the_previous_one(world: KioskWorld) -> None:
    """Two customers in a row (the 宗像市 2023 class): the second sees and gets only their own."""
    first = world.resident(trait="household_of_3")
    second = world.resident(trait="household_of_2")
    card_a = world.issue_card("mynumber-valid", first)
    authenticate(world, card_a)
    view = world.customer.tap("resident_record")
    view = world.customer.tap("members")
    view = world.customer.tap("next")
    first_names = {o.label for o in view.options if o.id.startswith("member:")}
    assert len(first_names) == 3
    world.customer.tap("back")
    world.customer.tap("back")
    choose_through_to_confirmation(world, "resident_record")
    apply_and_pay(world)
    take_everything(world)
    assert world.customer.receipts[0].checks["size_ok"], "the receipt fits its 80 mm roll"

    card_b = world.issue_card("smartphone-android", second)
    authenticate(world, card_b)
    view = world.customer.tap("resident_record")
    view = world.customer.tap("members")
    view = world.customer.tap("next")
    second_names = {o.label for o in view.options if o.id.startswith("member:")}
    assert len(second_names) == 2 and not (second_names & first_names)
    assert world.robot.held().card_data == 0
    world.customer.cancel()
    assert world.evidence is not None
    issued = [
        r["resident_id"] for r in world.evidence.records("municipal") if r["event"] == "issued"
    ]
    assert issued == [first]


def test_card_left_after_a_refusal_is_not_read_again(world: KioskWorld) -> None:
    card = world.issue_card("mynumber-face-auth-only", world.resident())
    c = world.customer
    c.place_card(card.card)
    view = c.wait_for(ScreenId.NOTICE)
    c.tap("ok")
    view = c.wait_for(ScreenId.CARD_HOLD)
    world.robot.screen(after=view.seq, wait=0.5)
    assert c.sees().screen is ScreenId.CARD_HOLD, "the card still on the reader starts nothing"
    c.remove_card()
    c.place_card(card.card)
    assert c.wait_for(ScreenId.NOTICE).facts["code"] == "face_auth_card"

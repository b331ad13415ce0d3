"""The kiosk-conformance plan's whole-flow check: one whole issuance per authentication method
through the kiosk under test, against the emulated centre and municipality. This is the vendor's
rehearsal of the kiosk's part in the seed's システム確認試験(疑似店舗) (II.5), not that test,
which is a municipality's test of its own issuance server (docs/harness.md, "Which test is
which"). The module keeps its old name so that expected-failure files stay valid."""

from __future__ import annotations

import pytest

from rig.core.protocols.robot import Method, ScreenId
from rig.harness.kiosk_steps import (
    apply_and_pay,
    authenticate,
    choose_through_to_confirmation,
    take_everything,
)
from rig.harness.plans import load_plan
from rig.harness.world import CARD_AP_PIN, World


@pytest.mark.requirement("TEST-003")
@pytest.mark.parametrize(
    ("method", "profile"),
    [(Method.JPKI, "mynumber-valid"), (Method.CARD_AP, "juki-card-ap")],
    ids=["jpki", "card-ap"],
)
def test_pseudo_store_issuance_by_each_method(world: World, method: Method, profile: str) -> None:
    plan = load_plan("kiosk-conformance")
    assert plan.selects("pseudo_store", set()), "the kiosk-conformance plan runs these scenarios"
    rid = world.resident()
    card = world.issue_card(profile, rid)
    view = authenticate(world, card)
    assert view.method is method
    view = choose_through_to_confirmation(world, "resident_record", pin=CARD_AP_PIN)
    fee = int(view.facts["fee_yen"] or 0)
    view = apply_and_pay(world)
    assert view.screen is ScreenId.TAKE_REMINDER, view.text
    take_everything(world)
    assert world.customer.certificates, "certificates printed and taken"
    assert world.robot.held().empty and world.centre.held_documents() == 0
    rows = world.centre.settlement()
    assert sum(r["copies"] for r in rows) == 1 and sum(r["fees"] for r in rows) == fee

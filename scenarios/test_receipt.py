"""The receipt (領収書, screen ⑮; seed I.4.2 ⑮, p.9): what it states, against what ⑩ showed.

The receipt printer keeps the text layer of each receipt it prints (docs/printer.md; never
for certificates). The scenario reads that text from the sheet the customer took and from
the printer's evidence, and looks for the certificate type, the copies, the fee per copy and
the total paid as ⑩ showed them (`scenarios.document_checks.receipt_problems`).
"""

from __future__ import annotations

import re

import pytest

from rig.core.protocols.robot import ScreenId
from rig.harness.kiosk_steps import coins_for
from rig.harness.world import World
from scenarios.document_checks import receipt_problems
from scenarios.test_payment import LAYOUT, books, finish, records, to_confirmation

TITLE = re.compile(r"証明書[:：]\s*(.+)")


@pytest.mark.requirement("PAY-012")
@LAYOUT
@pytest.mark.parametrize(
    "copies",
    [pytest.param(1, id="1-copy"), pytest.param(3, id="3-copies")],
)
def test_receipt_states_type_copies_fee_per_copy_and_total(world: World, copies: int) -> None:
    view = to_confirmation(world, "resident_record", trait="household_of_1", copies=copies)
    titles = [m.group(1).strip() for line in view.text if (m := TITLE.match(line))]
    assert titles, f"⑩ names no certificate: {view.text}"
    total = int(view.facts["fee_yen"] or 0)
    assert view.facts["copies"] == copies and total > 0
    per_copy = total // copies
    world.customer.begin_cash("receipt")
    world.customer.tap("apply")
    world.customer.wait_for(ScreenId.PAYMENT)
    world.customer.pay(*coins_for(total))  # exact coins: no other amount on the receipt
    finish(world)
    books(world, total)
    receipts = world.customer.receipts
    assert len(receipts) == 1, "one receipt"
    text = receipts[0].text
    assert text, "the receipt printer captured no text"
    logged = [r for r in records(world, "printer-receipt", "sheet") if r.get("text")]
    assert [r["text"] for r in logged] == [text], "the printer's evidence holds the same text"
    assert receipt_problems(text, titles[0], copies, per_copy, total) == []

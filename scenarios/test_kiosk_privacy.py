"""No retention and no leaks at the kiosk (証明書データの不保持; seed I.1 (1)–(2)).

The kiosk's retention is judged by its answer to the robot's `/held` query (docs/kiosk-
adapter.md) and by what the next customer sees; leaks by scanning every evidence file the
run wrote and the kiosk's state folder for the test resident's PINs, My Number and names.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emulators.municipal.models import Person
from emulators.printer import Fault, FaultKind
from rig.core.protocols.robot import ScreenId, ScreenView
from rig.harness.kiosk_inspect import kiosk_stored
from rig.harness.kiosk_steps import authenticate, choose_through_to_confirmation
from rig.harness.world import CARD_AP_PIN, CITY, World
from scenarios.test_payment import (
    LAYOUT,
    books,
    finish,
    records,
    to_confirmation,
    to_payment,
    wait_paid,
)


def shown(view: ScreenView) -> str:
    """Everything on the screen: texts, option labels and notes, facts."""
    parts = [view.title or "", *view.text, str(view.facts)]
    parts += [f"{o.label} {o.note or ''}" for o in view.options]
    return "\n".join(parts)


def household_names(world: World, resident_id: str) -> list[str]:
    """The names of the resident's household members as ⑦ lists them."""
    authenticate(world, world.issue_card("mynumber-valid", resident_id))
    world.customer.tap("resident_record")
    world.customer.tap("members")
    view = world.customer.tap("next")
    assert view.screen is ScreenId.HOUSEHOLD_SELECTION, view.text
    return [o.label for o in view.options if o.id.startswith("member:")]


@pytest.mark.requirement("PRIV-001")
@pytest.mark.smoke
@LAYOUT
def test_certificate_data_erased_once_printed(world: World) -> None:
    view = to_payment(world, "resident_record", trait="household_of_3")
    held = world.robot.held()
    assert held.documents == 1 and held.document_bytes > 0, "the /held answer is truthful"
    world.customer.pay(100, 100)
    world.customer.wait_for(ScreenId.TAKE_REMINDER)
    held = world.robot.held()
    assert held.documents == 0 and held.document_bytes == 0, "erased when printing ended"
    finish(world)
    assert world.robot.held().empty
    assert view.facts["fee_yen"] == 200
    books(world, 200)


@pytest.mark.requirement("PRIV-002")
@LAYOUT
@pytest.mark.parametrize(
    "ending", ["cancel-confirmation", "timeout-choice", "timeout-payment", "print-failed"]
)
def test_data_erased_however_the_session_ends(world: World, ending: str) -> None:
    c = world.customer
    if ending == "cancel-confirmation":
        to_confirmation(world, "resident_record", trait="household_of_3")
        assert world.robot.held().personal_data, "household names are held while in use"
        c.cancel()
    elif ending == "timeout-choice":
        authenticate(
            world, world.issue_card("mynumber-valid", world.resident(CITY, "household_of_3"))
        )
        world.customer.wait_out(ScreenId.CERTIFICATE_CHOICE)
    elif ending == "timeout-payment":
        to_payment(world, "resident_record", trait="household_of_3")
        c.pay(100)
        wait_paid(world, 100)
        world.customer.wait_out(ScreenId.PAYMENT)
    else:
        to_payment(world, "resident_record", trait="household_of_3")
        world.printer.inject(Fault(FaultKind.OFFLINE))
        c.pay(100, 100)
    view = c.wait_for(ScreenId.NOTICE, timeout=30)
    assert view.facts["code"] in ("cancelled", "timeout", "print_failed")
    held = world.robot.held()
    assert held.empty, held
    assert world.centre.held_documents() == 0
    books(world, 0)


@pytest.mark.requirement("PRIV-005")
@LAYOUT
@pytest.mark.parametrize("ending", ["timeout", "cancel"])
def test_screen_cleared_when_the_session_ends(world: World, ending: str) -> None:
    names = household_names(world, world.resident(CITY, "household_of_3"))
    assert len(names) == 3
    if ending == "timeout":
        world.customer.wait_out(ScreenId.HOUSEHOLD_SELECTION)
    else:
        world.customer.cancel()
    notice = world.customer.wait_for(ScreenId.NOTICE)
    world.customer.wait_out(ScreenId.NOTICE)
    idle = world.customer.wait_for(ScreenId.CARD_HOLD)
    for view in (notice, idle):
        text = shown(view)
        assert not [n for n in names if n in text], f"{view.screen} still shows a name"
    assert idle.method is None and world.robot.held().empty


@pytest.mark.requirement("PRIV-004")
@LAYOUT
def test_next_session_shows_and_prints_nothing_of_the_last(world: World) -> None:
    first = household_names(world, world.resident(CITY, "household_of_3"))
    world.customer.tap("back")
    world.customer.tap("back")
    choose_through_to_confirmation(world, "resident_record")
    world.customer.begin_cash("first")
    world.customer.tap("apply")
    world.customer.wait_for(ScreenId.PAYMENT)
    world.customer.pay(100, 100)
    finish(world)
    first_sheets = len(world.customer.certificates)
    second = household_names(world, world.resident(CITY, "household_of_2"))
    assert len(second) == 2 and not set(first) & set(second)
    for entry in ("certificate_choice", "issuance_type", "household_selection"):
        assert entry in [e.screen.value for e in world.robot.history()]
    assert not [n for n in first if n in shown(world.customer.sees())]
    world.customer.tap("back")
    world.customer.tap("back")
    choose_through_to_confirmation(world, "resident_record")
    world.customer.begin_cash("second")
    world.customer.tap("apply")
    world.customer.wait_for(ScreenId.PAYMENT)
    world.customer.pay(100, 100)
    finish(world)
    jobs = [r["job_id"] for r in records(world, "printer-print", "job-created")]
    second_sheets = world.customer.certificates[first_sheets:]
    assert second_sheets and {s.job_id for s in second_sheets} == {jobs[-1]}
    served = records(world, "centre", "issued")[-1]["sha256"]
    ended = [r for r in records(world, "printer-print", "job-ended") if r["job_id"] == jobs[-1]]
    assert ended[-1]["document_sha256"] == served, "the second job prints the second document"


@pytest.mark.requirement("PRIV-006")
@LAYOUT
def test_no_step_needs_store_staff(world: World) -> None:
    """Application to issuance by the customer alone: no notice, no staff action on any
    device, and the customer leaves with the certificate, the receipt and the change."""
    to_payment(world, "resident_record", trait="household_of_1")
    world.customer.pay(1000)
    finish(world)
    assert world.customer.certificates and world.customer.receipts
    assert sum(i.yen for i in world.customer.change) == 800
    assert ScreenId.NOTICE not in [e.screen for e in world.robot.history()]
    staff = [r for r in records(world, "cash_customer") if r["event"].startswith(("load", "clear",
             "open", "close_stacker", "empty", "force"))]  # fmt: skip
    assert staff == []
    books(world, 200)


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.mark.kiosk_inspect("storage")
@pytest.mark.requirement("PRIV-009")
@LAYOUT
def test_no_pin_my_number_or_name_in_evidence_or_kiosk_state(world: World) -> None:
    """A JPKI and a card-AP issuance; then every evidence file and every file the kiosk keeps
    (its state folder, or what an external kiosk answers at `GET /storage`) are searched for
    the PINs, the My Numbers and the names of both residents."""
    jpki_rid = world.resident(CITY, "household_of_1", 0)
    ap_rid = world.resident(CITY, "household_of_1", 1)
    jpki_card = world.issue_card("mynumber-valid", jpki_rid)
    authenticate(world, jpki_card)
    choose_through_to_confirmation(world, "resident_record")
    world.customer.begin_cash("jpki")
    world.customer.tap("apply")
    world.customer.wait_for(ScreenId.PAYMENT)
    world.customer.pay(100, 100)
    finish(world)
    ap_card = world.issue_card("juki-card-ap", ap_rid)
    authenticate(world, ap_card)
    choose_through_to_confirmation(world, "resident_record", pin=CARD_AP_PIN)
    world.customer.begin_cash("card-ap")
    world.customer.tap("apply")
    world.customer.wait_for(ScreenId.PAYMENT)
    world.customer.pay(100, 100)
    finish(world)

    registry = world.municipal.registry
    secrets: dict[str, str] = {}
    for rid in (jpki_rid, ap_rid):
        info = registry.resident(rid)
        secrets[f"name of {rid}"] = info.name
        secrets[f"kana of {rid}"] = info.kana
        with registry.session() as s:
            person = s.get(Person, rid)
            assert person is not None
            secrets[f"My Number of {rid}"] = person.my_number
    digits = {
        "JPKI PIN": jpki_card.pins["auth_pin"],
        "card AP PIN": CARD_AP_PIN,
        **{k: v for k, v in secrets.items() if k.startswith("My Number")},
    }
    assert world.evidence is not None
    folder = world.evidence.folder
    files = {f"evidence/{p.relative_to(folder)}": p.read_bytes() for p in _files(folder)}
    files.update({f"kiosk/{name}": content for name, content in kiosk_stored(world).items()})
    assert len(files) > 5
    leaks: list[str] = []
    for where, content in files.items():
        text = content.decode("utf-8", errors="ignore")
        for label, value in secrets.items():
            if not label.startswith("My Number") and value in text:
                leaks.append(f"{label} in {where}")
        for label, value in digits.items():
            if re.search(rf"(?<![0-9A-Fa-f]){value}(?![0-9A-Fa-f])", text):
                leaks.append(f"{label} in {where}")
    assert leaks == []


# == PRIV-011: the kiosk's time-outs are checked against the plan, not trusted ===================
#: the screens of a session (everything but the idle card placement screen)
SESSION_SCREENS = [s for s in ScreenId if s is not ScreenId.CARD_HOLD]


@pytest.fixture
def timeout_limits(request: pytest.FixtureRequest) -> dict[str, float]:
    """The plan's limits; the pseudo-store plan's when the plan running states none."""
    from rig.harness.plans import load_plan
    from rig.harness.pytest_plugin import PLAN_KEY

    plan = request.config.stash.get(PLAN_KEY, None)
    if plan is not None and plan.kiosk_timeouts_max_s:
        return plan.kiosk_timeouts_max_s
    return load_plan("kiosk-conformance").kiosk_timeouts_max_s


@pytest.mark.requirement("PRIV-011")
def test_every_session_screen_declares_a_time_out_within_the_plan(
    world: World, timeout_limits: dict[str, float]
) -> None:
    declared = world.robot.info().timeouts_s
    missing = [s.value for s in SESSION_SCREENS if s.value not in declared]
    assert not missing, f"screens that never time out: {missing}"
    too_long = {
        s.value: declared[s.value]
        for s in SESSION_SCREENS
        if not 0 < declared[s.value] <= timeout_limits[s.value]
    }
    assert not too_long, f"time-outs beyond the plan's limits {timeout_limits}: {too_long}"


@pytest.mark.requirement("PRIV-011", "PRIV-005")
@LAYOUT
@pytest.mark.parametrize(
    "screen",
    [ScreenId.CERTIFICATE_CHOICE, ScreenId.HOUSEHOLD_SELECTION, ScreenId.CONFIRMATION],
)
def test_a_screen_left_alone_ends_within_the_plans_limit(
    world: World, timeout_limits: dict[str, float], screen: ScreenId
) -> None:
    """Waited out by the plan's limit, not by what the kiosk declares: a kiosk that declares
    a short time-out and keeps the screen up fails here."""
    if screen is ScreenId.CERTIFICATE_CHOICE:
        authenticate(
            world, world.issue_card("mynumber-valid", world.resident(CITY, "household_of_3"))
        )
    elif screen is ScreenId.HOUSEHOLD_SELECTION:
        household_names(world, world.resident(CITY, "household_of_3"))
    else:
        to_confirmation(world, "resident_record", trait="household_of_3")
    assert world.customer.sees().screen is screen
    world.customer.wait(timeout_limits[screen.value] + 1)
    view = world.customer.wait_for(ScreenId.NOTICE, ScreenId.CARD_HOLD, timeout=10)
    assert view.screen in (ScreenId.NOTICE, ScreenId.CARD_HOLD), view
    assert not world.robot.held().personal_data, "the screen's personal data is gone"

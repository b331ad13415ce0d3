"""The soak run: a simulated week of mixed traffic through the real pipeline.

A simpy process on the rig clock sends customers to the reference kiosk through a week of
service hours (Monday 06:30 to Sunday 23:00): both authentication methods, several certificate
types, exact payment and payment with change, cancellations at the payment screen, revoked
cards, and scheduled incidents (a JPKI outage and an LGWAN outage). Every transaction goes
through PC/SC, the serial cash unit, IPP and HTTPS. At the end the books must balance to the
yen: per transaction the kiosk kept exactly the fee (or nothing), no customer is owed money,
the cash ledger reconciles, and the centre's statistics count exactly the copies printed with
exactly the fees taken.

Clock: the arrival times are drawn up front; the rig clock is moved to each arrival (running
every event due on the way: time-outs, incident edges), the customer then acts at once while
the clock stands, and the clock jumps on to the next arrival. This is the discrete-event limit
of the scaled clock: with a scaled real-time clock the kiosk's inactivity time-outs would fire
whenever the machine, not the customer, is slow.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from emulators.card import BuiltCard
from rig.core.clock import JST, RigClock
from rig.core.drivers.robot_client import ScreenTimeout
from rig.core.evidence import EvidenceStore
from rig.core.pcsc import ReaderStack
from rig.core.pki.jpki import JpkiAuthority
from rig.core.protocols.robot import ScreenId
from rig.harness.demand.uses import arrival_times
from rig.harness.kiosk_steps import choose_through_to_confirmation, coins_for
from rig.harness.world import CARD_AP_PIN, CITY, World, WorldOptions

WEEK_START = datetime(2026, 11, 30, 6, 30, tzinfo=JST)  # a Monday
SOAK_SEED = "konbini-soak"
#: scheduled incidents: a JPKI centre outage on Tuesday, an LGWAN outage on Thursday
JPKI_OUTAGE = (WEEK_START.replace(day=1, month=12, hour=10, minute=0),
               WEEK_START.replace(day=1, month=12, hour=11, minute=30))  # fmt: skip
LGWAN_OUTAGE = (WEEK_START.replace(day=3, month=12, hour=14, minute=0),
                WEEK_START.replace(day=3, month=12, hour=15, minute=0))  # fmt: skip
PKI_FOLDER = Path("build/test-pki/soak")

#: (kind, weight): what each arriving customer does
MIX: list[tuple[str, int]] = [
    ("jpki_resident_record_exact", 30),
    ("jpki_resident_record_change", 20),
    ("jpki_tax_certificate", 8),
    ("jpki_koseki", 5),
    ("card_ap_seal_registration", 15),
    ("card_ap_resident_record", 10),
    ("cancel_at_payment", 7),
    ("revoked_card", 5),
]


@dataclass
class Outcome:
    n: int
    kind: str
    at: str
    result: str  # issued | refused | cancelled
    fee: int = 0
    kept_yen: int = 0
    owed_yen: int = 0
    sheets: int = 0
    note: str = ""  # the refusal code shown, if any
    problems: list[str] = field(default_factory=list)


@dataclass
class SoakReport:
    transactions: int = 0
    results: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    discrepancies: list[str] = field(default_factory=list)
    cash_kept_yen: int = 0
    fees_counted_yen: int = 0
    copies_counted: int = 0
    copies_printed: int = 0
    sheets_printed: int = 0
    simulated_days: float = 0.0
    wall_seconds: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def lines(self) -> list[str]:
        return [
            f"transactions: {self.transactions} over {self.simulated_days:.1f} simulated days "
            f"in {self.wall_seconds:.0f} s",
            f"results: {dict(self.results)}",
            f"cash kept {self.cash_kept_yen} yen; fees counted by the centre "
            f"{self.fees_counted_yen} yen",
            f"copies counted {self.copies_counted}; copies printed {self.copies_printed}; "
            f"sheets {self.sheets_printed}",
            f"discrepancies: {len(self.discrepancies)}",
            *(f"  {d}" for d in self.discrepancies[:20]),
        ]


class Soak:
    def __init__(self, world: World, rng: random.Random):
        self.world = world
        self.rng = rng
        self.jpki_cards = [
            world.issue_card("mynumber-valid", world.resident(CITY, index=i)) for i in range(4)
        ]
        self.card_ap_cards = [
            world.issue_card("juki-card-ap", world.resident(CITY, trait="seal_registered", index=i))
            for i in range(2)
        ]
        self.tax_card = world.issue_card("mynumber-valid", world.resident(CITY, trait="tax_record"))
        self.koseki_card = world.issue_card(
            "mynumber-valid", world.resident(CITY, trait="koseki_here")
        )
        self.revoked_card = world.issue_card("mynumber-revoked-cert", world.resident(CITY))
        self.outcomes: list[Outcome] = []

    # -- one customer ----------------------------------------------------------------------
    def transaction(self, n: int, kind: str) -> Outcome:
        world, c = self.world, self.world.customer
        label = f"soak-{n}"
        c.begin_cash(label)
        out = Outcome(n, kind, world.clock.now().isoformat(), "refused")
        if kind == "revoked_card":
            if self._authenticate(self.revoked_card, out) is not None:
                out.problems.append("a revoked card was accepted")
        else:
            card, cert, variant = self._pick(kind)
            view = self._authenticate(card, out)
            if view is not None:
                self._issue(card, cert, variant, kind, out)
        summary = world.cash.ledger.summary(label)
        out.kept_yen, out.owed_yen = summary.net_yen, summary.customer_owed_yen
        self._check(out)
        self.outcomes.append(out)
        # the customer walks away with the paper: drop the sheets' rasters from memory and the
        # captures from disk, or a week of traffic holds tens of gigabytes
        world.customer.certificates.clear()
        world.customer.receipts.clear()
        world.printer.purge()
        return out

    def _pick(self, kind: str) -> tuple[BuiltCard, str, str | None]:
        if kind.startswith("card_ap"):
            card = self.rng.choice(self.card_ap_cards)
            cert = "seal_registration" if "seal" in kind else "resident_record"
            return card, cert, None
        if kind == "jpki_tax_certificate":
            return self.tax_card, "tax_certificate", "income"
        if kind == "jpki_koseki":
            return self.koseki_card, "koseki", "full"
        return self.rng.choice(self.jpki_cards), "resident_record", None

    def _authenticate(self, card: BuiltCard, out: Outcome) -> Any:
        c = self.world.customer
        c.place_card(card.card)
        view = c.wait_for(ScreenId.PIN, ScreenId.CARD_REMOVAL, ScreenId.NOTICE)
        if view.screen is ScreenId.PIN:
            c.enter_pin(card.pins["auth_pin"])
            view = c.wait_for(ScreenId.CARD_REMOVAL, ScreenId.NOTICE)
        if view.screen is ScreenId.NOTICE:
            out.note = str(view.facts.get("code"))
            self._dismiss(card_on_reader=True)
            return None
        c.remove_card()
        return c.wait_for(ScreenId.CERTIFICATE_CHOICE)

    def _issue(
        self, card: BuiltCard, cert: str, variant: str | None, kind: str, out: Outcome
    ) -> None:
        c = self.world.customer
        view = choose_through_to_confirmation(self.world, cert, variant=variant, pin=CARD_AP_PIN)
        out.fee = int(view.facts["fee_yen"] or 0)
        c.tap("apply")
        view = c.wait_for(ScreenId.PAYMENT, ScreenId.NOTICE)
        if view.screen is ScreenId.NOTICE:
            out.note = str(view.facts.get("code"))
            self._dismiss(card_on_reader=False)
            return
        if kind == "cancel_at_payment":
            c.pay(*coins_for(out.fee)[:1])
            c.cancel()
            c.wait_for(ScreenId.CARD_HOLD, ScreenId.NOTICE)
            c.take_change()  # the refund: the notice names it
            self._dismiss(card_on_reader=False)
            out.result = "cancelled"
            return
        if kind.endswith("change"):
            c.pay(1000)
        else:
            c.pay(*coins_for(out.fee))
        try:
            # printing with the full anti-forgery stage can take long on a loaded machine
            view = c.wait_for(ScreenId.TAKE_REMINDER, ScreenId.NOTICE, timeout=900)
        except ScreenTimeout as exc:
            out.problems.append(f"payment or printing never completed: {exc}")
            if c.sees().screen is ScreenId.PAYMENT:
                c.cancel()
                c.take_change()
                self._dismiss(card_on_reader=False)
            return
        if view.screen is ScreenId.NOTICE:
            out.note = str(view.facts.get("code"))
            c.take_change()
            self._dismiss(card_on_reader=False)
            return
        sheets = c.take_certificates()
        out.sheets = len(sheets)
        c.wait_for(ScreenId.RECEIPT)
        deadline = time.monotonic() + 30
        while not c.take_receipt() and time.monotonic() < deadline:
            time.sleep(0.02)
        c.take_change()
        c.wait_for(ScreenId.CARD_HOLD)
        out.result = "issued"

    def _dismiss(self, *, card_on_reader: bool) -> None:
        c = self.world.customer
        if card_on_reader:
            c.remove_card()
        view = c.sees()
        if view.screen is ScreenId.NOTICE:
            c.tap("ok")
        c.wait_for(ScreenId.CARD_HOLD)

    def _check(self, out: Outcome) -> None:
        if out.owed_yen != 0:
            out.problems.append(f"customer owed {out.owed_yen} yen")
        expected_kept = out.fee if out.result == "issued" else 0
        if out.kept_yen != expected_kept:
            out.problems.append(f"kiosk kept {out.kept_yen} yen, expected {expected_kept}")
        if out.result == "issued" and out.sheets == 0:
            out.problems.append("issued but no sheet printed")


def service_cash_unit(world: World, full_levels: dict[int, int]) -> None:
    """The store's daily round: top the change hoppers up, collect the bills and coins."""
    top_up_hoppers(world, full_levels, below=1.0)
    world.cash.operator.empty_cassette()
    world.cash.operator.empty_cashbox()


def top_up_hoppers(world: World, full_levels: dict[int, int], below: float = 0.5) -> None:
    """Staff refill a change hopper that has run below `below` of its full level."""
    operator = world.cash.operator
    for yen, level in operator.hopper_levels().items():
        full = full_levels.get(yen, 0)
        if level < below * full:
            operator.load_hopper(yen, full - level)


def arrivals(
    rng: random.Random, count: int, start: datetime, days: int
) -> list[tuple[datetime, str]]:
    """`count` arrivals across `days` from `start`, sorted, with a kind each.

    The times come from the demand model (rig/harness/demand: hour of day, weekday, season, inside
    the centre's hours, none in the last 10 minutes before closing); the kinds are the soak's
    own test behaviours (MIX).
    """
    kinds, weights = zip(*MIX, strict=True)
    times = arrival_times(rng, count, start, days, margin_s=600)
    return [(t, rng.choices(kinds, weights)[0]) for t in times]


def run_soak(
    transactions: int,
    folder: Path,
    *,
    days: int = 7,
    seed: int = 20261130,
    progress: Callable[[int, Outcome], None] | None = None,
    pinned: list[tuple[datetime, str]] | None = None,
) -> SoakReport:
    """Run `transactions` random customers (plus any `pinned` ones) through a week."""
    began = time.perf_counter()
    rng = random.Random(seed)
    clock = RigClock(WEEK_START)
    evidence = EvidenceStore(folder / "evidence", now=clock.now)
    slot = ReaderStack.shared().acquire()
    authority = JpkiAuthority.load_or_create(PKI_FOLDER, SOAK_SEED, state_dir=folder / "jpki")
    world = World.build(
        folder / "world", clock, evidence, slot=slot, authority=authority,
        options=WorldOptions(seed=SOAK_SEED, with_verification_site=False),
    )  # fmt: skip
    report = SoakReport()
    try:
        world.centre.faults.jpki_outage(*JPKI_OUTAGE)
        world.centre.faults.lgwan_outage(*LGWAN_OUTAGE, CITY)
        soak = Soak(world, rng)
        plan = sorted(arrivals(rng, transactions, WEEK_START, days) + (pinned or []))

        full_levels = world.cash.operator.hopper_levels()
        serviced_on = None
        for n, (when, kind) in enumerate(plan, 1):
            # everything due before this arrival happens first (time-outs, incident edges);
            # the customer then acts while other threads may schedule on the clock
            if when > clock.now():
                clock.set(when)
            if serviced_on != when.date():
                service_cash_unit(world, full_levels)
                serviced_on = when.date()
            else:
                top_up_hoppers(world, full_levels)
            # staff keep the paper trays filled (a week prints well over a tray's worth)
            world.printer.faults.refill()
            world.printer.receipt_faults.refill()
            out = soak.transaction(n, kind)
            if progress is not None:
                progress(n, out)
        clock.set(WEEK_START + timedelta(days=days))
        report = _reconcile(world, soak.outcomes)
        report.outcomes = soak.outcomes
        report.simulated_days = (clock.now() - WEEK_START).total_seconds() / 86400
    finally:
        world.stop()
        slot.release()
    report.wall_seconds = time.perf_counter() - began
    return report


def _reconcile(world: World, outcomes: list[Outcome]) -> SoakReport:
    report = SoakReport(transactions=len(outcomes))
    for out in outcomes:
        report.results[out.result] += 1
        report.kinds[out.kind] += 1
        for problem in out.problems:
            report.discrepancies.append(f"#{out.n} {out.kind} at {out.at}: {problem}")
        report.cash_kept_yen += out.kept_yen
        if out.result == "issued":
            report.copies_printed += 1
            report.sheets_printed += out.sheets
    rows = world.centre.settlement()
    report.fees_counted_yen = sum(int(r.get("fees_yen", r.get("fees", 0))) for r in rows)
    report.copies_counted = sum(int(r.get("copies", 0)) for r in rows)
    if report.cash_kept_yen != report.fees_counted_yen:
        report.discrepancies.append(
            f"cash kept {report.cash_kept_yen} yen != fees counted {report.fees_counted_yen} yen"
        )
    if report.copies_counted != report.copies_printed:
        report.discrepancies.append(
            f"copies counted {report.copies_counted} != copies printed {report.copies_printed}"
        )
    books = world.cash.reconcile()
    report.discrepancies.extend(f"cash ledger: {p}" for p in books.problems)
    return report


def main(transactions: int, days: int = 7) -> int:
    with tempfile.TemporaryDirectory(prefix="rig-soak-") as tmp:

        def show(n: int, out: Outcome) -> None:
            if n % 25 == 0 or out.problems:
                print(
                    f"[{n}/{transactions}] {out.at} {out.kind}: {out.result} {out.note}", flush=True
                )

        report = run_soak(transactions, Path(tmp), days=days, progress=show)
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1

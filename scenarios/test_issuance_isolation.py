"""Whose data is on each page, under concurrency (notes: Incidents 2023, 川崎市・徳島市・高松市).

The 2023 incidents printed one applicant's certificate for another, or mixed two registers
in one document. The rig plays several kiosks in several stores at once (each with its own
kiosk id and client certificate) against the issuance server, and judges every page that
reaches the kiosk side: its `RID:… DOC:… MUNI:… PAGE:x/y` line must name the applicant, one
document, pages 1..n, and every name printed must belong to the applicant's own household.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from emulators.card import BuiltCard
from rig.harness.load.judge import judge_pages, page_texts
from rig.harness.world import CITY, KOSEKI_TOWN, SMALL_TOWN, World
from scenarios.support import KioskSide

pytestmark = [pytest.mark.municipal_server, pytest.mark.world(marks="layout")]


@dataclass
class Applicant:
    """One resident at one kiosk, with the household names the menu showed them."""

    world: World
    resident_id: str
    code: str
    card: BuiltCard
    method: str
    kiosk: KioskSide
    session_id: str = ""
    names: set[str] = field(default_factory=set)
    members: int = 0
    pdf: bytes = b""
    started: float = 0.0

    def login(self) -> None:
        if self.method == "jpki":
            self.session_id, _ = self.kiosk.login_jpki(self.card)
        else:
            self.session_id, _ = self.kiosk.login_card_ap(self.card)
        household = self.kiosk.client.menu(self.session_id)["household"]
        self.names = {m["name"] for m in household}
        self.members = len(household)

    def issue(self, gate: threading.Barrier) -> None:
        gate.wait()
        self.started = time.perf_counter()
        _, self.pdf = self.kiosk.issue(self.session_id, "resident_record", copies=1)


@pytest.fixture
def kiosks() -> Iterator[list[KioskSide]]:
    opened: list[KioskSide] = []
    yield opened
    for kiosk in opened:
        kiosk.close()


def jpki_card(world: World, resident_id: str, code: str) -> BuiltCard:
    """A My Number card with the resident's own certificate (one serial per resident)."""
    return world.issue_card("mynumber-valid", resident_id, code=code)


def applicant(
    world: World,
    kiosks: list[KioskSide],
    n: int,
    code: str,
    trait: str,
    method: str,
    index: int,
    *,
    log_in: bool = True,
) -> Applicant:
    rid = world.resident(code, trait, index=index)
    if method == "jpki":
        card = jpki_card(world, rid, code)
    else:
        card = world.issue_card("juki-card-ap", rid, code=code)
    kiosk = KioskSide.connect(world, f"kiosk-{n:04d}", store_id=f"store-{n:04d}")
    kiosks.append(kiosk)
    person = Applicant(world, rid, code, card, method, kiosk)
    if log_in:
        person.login()
    return person


def assert_own_pages(person: Applicant, strangers: set[str]) -> None:
    """Every page is the applicant's; no name from anyone else's household is printed."""
    pages = page_texts(person.pdf)
    assert len(pages) > 1, "the case needs a multi-page certificate"
    verdict = judge_pages(
        pages,
        resident_id=person.resident_id,
        code=person.code,
        own_names=person.names,
        strangers=strangers,
        required_names=person.names,
    )
    assert verdict.problems == [], f"{person.resident_id}: {verdict.problems}"


def run_together(people: list[Applicant]) -> None:
    gate = threading.Barrier(len(people))
    with ThreadPoolExecutor(len(people)) as pool:
        for future in [pool.submit(p.issue, gate) for p in people]:
            future.result()


@pytest.mark.requirement("ISO-002", "ISO-005")
@pytest.mark.parametrize(
    ("first", "second"),
    [
        ((CITY, "jpki"), (CITY, "jpki")),
        ((CITY, "jpki"), (CITY, "card_ap")),
        ((SMALL_TOWN, "card_ap"), (KOSEKI_TOWN, "jpki")),
    ],
)
def test_two_stores_within_one_second(
    backend: World,
    kiosks: list[KioskSide],
    first: tuple[str, str],
    second: tuple[str, str],
) -> None:
    a = applicant(backend, kiosks, 1, first[0], "household_of_4", first[1], 0)
    b = applicant(backend, kiosks, 2, second[0], "household_of_5", second[1], 0)
    run_together([a, b])
    assert abs(a.started - b.started) < 1.0
    assert_own_pages(a, b.names)
    assert_own_pages(b, a.names)
    assert a.pdf != b.pdf


@pytest.mark.requirement("ISO-003")
@pytest.mark.parametrize("code", [CITY, SMALL_TOWN, KOSEKI_TOWN])
def test_every_page_of_a_multi_page_certificate_is_the_applicants(
    backend: World, kiosks: list[KioskSide], code: str
) -> None:
    person = applicant(backend, kiosks, 1, code, "household_of_8", "jpki", 0)
    assert person.members >= 8
    neighbour = applicant(backend, kiosks, 2, code, "household_of_7", "jpki", 0)
    person.issue(threading.Barrier(1))
    pages = page_texts(person.pdf)
    assert len(pages) >= 3
    assert_own_pages(person, neighbour.names)


@pytest.mark.requirement("ISO-006", "ISO-005")
def test_many_kiosks_at_once_each_get_their_own(backend: World, kiosks: list[KioskSide]) -> None:
    plan = [
        (code, trait, method, index)
        for code in (CITY, SMALL_TOWN, KOSEKI_TOWN)
        for trait, method, index in (
            ("household_of_4", "jpki", 0),
            ("household_of_5", "card_ap", 0),
            ("household_of_6", "jpki", 0),
        )
    ]
    people = [applicant(backend, kiosks, n + 1, *case, log_in=False) for n, case in enumerate(plan)]
    with ThreadPoolExecutor(len(people)) as pool:  # the kiosks' customers arrive together
        list(pool.map(Applicant.login, people))
    if backend.test_data is None:  # an external server's test data vouches for this itself
        households = {
            backend.municipal.registry.resident(p.resident_id).household_id for p in people
        }
        assert len(households) == len(people), "the case needs one household per applicant"
    run_together(people)
    everyone = set().union(*(p.names for p in people))
    for person in people:
        assert_own_pages(person, everyone)
    assert len({p.pdf for p in people}) == len(people)

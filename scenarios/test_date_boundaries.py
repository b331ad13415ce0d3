"""The date boundaries of the issuance server's rules, where they are hardest to get right.

Each rule with a date in it is tried on both sides of its boundary, on the rig clock in Japan
time (HOURS-009), straight on LGWAN (the rig plays the centre):

- 転入当日 (CERT-023): the move-in day is a Japan-time day. Between 00:00 and 09:00 JST the
  UTC date is still the day before, so a server that takes "today" from UTC serves a
  resident on the day of the move-in before 09:00 and changes its mind at 09:00, in the
  middle of a session. The first instant of service (06:30:00), the last second before 09:00
  and a session that crosses 09:00 are all refused; the next day is served.
- 15 歳未満 (CERT-024): refused until the last second of the day before the 15th birthday,
  served from the first instant of service on the birthday.
- 税証明 (CERT-004): a fiscal year's 住民税 is determined in June; the newest year is not on
  the menu and not issued on 31 May (even when asked for by year), and is both from 1 June.

The registry is changed by none of these (the residents are chosen by trait and their birth
dates read for set-up only, through the counter: rig/harness/municipal_registry.py); they move the
server's clock, so against an external server they need its test-mode clock, and the birthday
scenario its test-registry route.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta

import httpx
import pytest

from rig.core.clock import JST, RigClock
from rig.core.https import https_client
from rig.harness.municipal_registry import Counter
from rig.harness.world import CITY, World

pytestmark = [
    pytest.mark.municipal_server,
    pytest.mark.municipal_clock,
    pytest.mark.world(marks="layout"),
]

#: where the rig clock starts, per scenario (the clock only moves forward)
STARTS = {
    "test_the_move_in_day_is_a_japan_time_day": datetime(2026, 11, 24, 6, 30, tzinfo=JST),
    "test_the_newest_tax_year_becomes_available_on_1_june": datetime(
        2026, 5, 31, 22, 0, tzinfo=JST
    ),
}


@pytest.fixture
def rig_clock(request: pytest.FixtureRequest) -> RigClock:
    start = STARTS.get(request.node.originalname)
    return RigClock(start) if start is not None else RigClock()


@pytest.fixture
def lgwan(backend: World) -> Iterator[httpx.Client]:
    with https_client(
        backend.municipal_urls[CITY], client=backend.lgwan_client_cert(),
        server_ca=backend.lgwan_ca(),
    ) as client:  # fmt: skip
        yield client


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


def login(world: World, lgwan: httpx.Client, rid: str) -> httpx.Response:
    serial = world.registered_serial(CITY, rid)
    return lgwan.post("/auth/jpki", json={"cert_serial": f"{serial:x}"})


def session(world: World, lgwan: httpx.Client, rid: str) -> str:
    opened = login(world, lgwan, rid)
    assert opened.status_code == 201, opened.text
    sid: str = opened.json()["session_id"]
    return sid


def request(lgwan: httpx.Client, sid: str, body: Mapping[str, object]) -> httpx.Response:
    return lgwan.post(f"/sessions/{sid}/certificates", json=body)


def refused(answer: httpx.Response, code: str) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == code, answer.json()


@pytest.mark.requirement("CERT-023", "HOURS-009")
def test_the_move_in_day_is_a_japan_time_day(backend: World, lgwan: httpx.Client) -> None:
    rid = backend.resident(CITY, "moved_in_today")  # moved in on 2026-11-24 (JST)
    record = {"type": "resident_record"}
    for when in ("2026-11-24T06:30:00", "2026-11-24T08:59:59"):  # UTC: still 23 November
        backend.clock.set(at(when))
        refused(request(lgwan, session(backend, lgwan, rid), record), "moved_in_today")
    backend.clock.set(at("2026-11-24T08:59:59"))
    sid = session(backend, lgwan, rid)
    backend.clock.set(at("2026-11-24T09:00:05"))  # the UTC day changes inside the session
    refused(request(lgwan, sid, record), "moved_in_today")
    backend.clock.set(at("2026-11-25T06:30:00"))
    served = request(lgwan, session(backend, lgwan, rid), record)
    assert served.status_code == 201, served.text
    assert served.json()["resident_id"] == rid


def _fifteenth_birthday(world: World, counter: Counter) -> tuple[str, date]:
    """The under-15 resident of みなと市 whose 15th birthday comes first, avoiding days the
    city does not serve at 06:30 (maintenance on 6 December, the year-end closure) and
    29 February."""
    today = world.clock.now().date()
    candidates = []
    for rid in world.residents(CITY, "under_15"):
        born = counter.resident(rid).birth_date
        if (born.month, born.day) == (2, 29):
            continue
        birthday = born.replace(year=born.year + 15)
        closed = (birthday.month, birthday.day) in ((12, 6),) or (
            (birthday.month, birthday.day) >= (12, 29) or birthday.timetuple().tm_yday <= 4
        )
        if birthday > today + timedelta(days=1) and not closed:
            candidates.append((birthday, rid))
    assert candidates, "the registry has an under-15 resident to try"
    birthday, rid = min(candidates)
    return rid, birthday


@pytest.mark.municipal_registry
@pytest.mark.requirement("CERT-024")
def test_the_fifteenth_birthday_is_the_first_day_of_service(
    backend: World, counter: Counter, lgwan: httpx.Client
) -> None:
    rid, birthday = _fifteenth_birthday(backend, counter)
    eve = datetime.combine(birthday - timedelta(days=1), datetime.min.time(), JST)
    backend.clock.set(eve.replace(hour=22, minute=59, second=59))
    refused(login(backend, lgwan, rid), "under_15")
    backend.clock.set(
        datetime.combine(birthday, datetime.min.time(), JST).replace(hour=6, minute=30)
    )
    assert login(backend, lgwan, rid).status_code == 201


@pytest.mark.requirement("CERT-004")
def test_the_newest_tax_year_becomes_available_on_1_june(
    backend: World, lgwan: httpx.Client
) -> None:
    rid = backend.resident(CITY, "tax_record")
    income = {"type": "tax_certificate", "variant": "income"}
    backend.clock.set(at("2026-05-31T22:59:59"))
    sid = session(backend, lgwan, rid)
    menu = lgwan.get(f"/sessions/{sid}/menu").json()
    assert max(menu["tax_years"]) == 2025, menu["tax_years"]
    refused(
        request(lgwan, sid, {**income, "options": {"fiscal_year": 2026}}), "tax_record_not_found"
    )
    assert request(lgwan, sid, income).status_code == 201  # the newest available: 2025
    backend.clock.set(at("2026-06-01T06:30:00"))
    sid = session(backend, lgwan, rid)
    assert max(lgwan.get(f"/sessions/{sid}/menu").json()["tax_years"]) == 2026
    issued = request(lgwan, sid, {**income, "options": {"fiscal_year": 2026}})
    assert issued.status_code == 201, issued.text

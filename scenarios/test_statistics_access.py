"""Who may read the centre's statistics (seed I.2 (2), II.3 (9)): each municipality its own,
each store operator its own stores', nobody another's.

Judged only at the centre's API: a municipality reads with its LGPKI-style certificate (CN =
its code), an operator with a kiosk-CA certificate that names it (OU = operator id), and
what was issued is what the kiosk API confirmed (receipts). The rules are in docs/centre.md,
"Statistics and who may read them".
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import pytest

from rig.core.clock import JST
from rig.core.drivers.centre_client import CentreApiError, CentreClient, RequestReceipt
from rig.core.pki.tls import CertPair
from rig.core.protocols.centre import CertTypeName
from rig.harness.world import CITY, KIOSK_ID, SMALL_TOWN, World
from scenarios.support import KioskSide

pytestmark = pytest.mark.world(marks="layout")
NOV_24, NOV_25 = date(2026, 11, 24), date(2026, 11, 25)


def reader(world: World, pair: CertPair) -> CentreClient:
    return CentreClient(world.endpoints["center_url"], client=pair, server_ca=world.tls.server_ca)


def municipality(world: World, code: str) -> CentreClient:
    """A municipality's LGWAN terminal: its LGPKI-style certificate, CN = its code."""
    return reader(world, world.tls.lgpki_client(code))


def operator_hq(world: World, operator: str) -> CentreClient:
    """An operator's head office: a kiosk-CA certificate naming the operator (OU)."""
    return reader(world, world.tls.kiosk_client(f"{operator}-hq", operator=operator))


def store_kiosk(world: World, operator: str, store: str, n: int = 1) -> KioskSide:
    """A kiosk of `operator` in `store`, its certificate bound to the operator."""
    kiosk_id = f"{store}-k{n}"
    pair = world.tls.kiosk_client(kiosk_id, operator=operator)
    return KioskSide(world, reader(world, pair), kiosk_id, store_id=store, operator_id=operator)


def issue(
    world: World,
    kiosk: KioskSide,
    code: str,
    cert_type: CertTypeName,
    copies: int,
    index: int = 0,
) -> RequestReceipt:
    """One applicant of `code` takes `copies` of `cert_type` at `kiosk` (JPKI)."""
    card = world.issue_card("mynumber-valid", world.resident(code, index=index), code=code)
    session_id, _ = kiosk.login_jpki(card)
    done, _ = kiosk.issue(session_id, cert_type, copies=copies)
    kiosk.client.end_session(session_id)
    return done


# -- STAT-004: a municipality reads its own statistics, and only its own ----------------------
@pytest.mark.requirement("STAT-004", "STAT-001")
@pytest.mark.smoke
def test_a_municipality_reads_its_own_statistics(backend: World) -> None:
    kiosk = KioskSide.connect(backend)
    issued: Counter[tuple[str, str, str]] = Counter()
    sales: list[tuple[str, CertTypeName, int]] = [
        (CITY, "resident_record", 2),
        (CITY, "resident_record_entries", 1),
        (SMALL_TOWN, "resident_record", 3),
    ]
    try:
        for code, cert_type, copies in sales:
            done = issue(backend, kiosk, code, cert_type, copies)
            issued[(code, NOV_24.isoformat(), cert_type)] += done.copies_printed
        backend.clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=JST))
        done = issue(backend, kiosk, CITY, "resident_record", 1, index=1)
        issued[(CITY, NOV_25.isoformat(), "resident_record")] += done.copies_printed
    finally:
        kiosk.close()
    for code in (CITY, SMALL_TOWN):
        with municipality(backend, code) as terminal:
            report = terminal.municipal_statistics(code)
            settled = terminal.settlement("2026-11")  # no code named: its own rows only
        seen = {(code, r["day"], r["cert_type"]): r["copies"] for r in report.rows}
        assert seen == {k: v for k, v in issued.items() if k[0] == code}
        assert report.totals["copies"] == sum(seen.values())
        assert [(r["municipality"], r["copies"]) for r in settled] == [(code, sum(seen.values()))]


@pytest.mark.requirement("STAT-004")
@pytest.mark.parametrize("route", ["statistics", "settlement"])
def test_a_municipality_is_refused_anothers_statistics(backend: World, route: str) -> None:
    kiosk = KioskSide.connect(backend)
    try:
        issue(backend, kiosk, SMALL_TOWN, "resident_record", 2)
    finally:
        kiosk.close()
    with municipality(backend, CITY) as city, pytest.raises(CentreApiError) as refused:
        if route == "statistics":
            city.municipal_statistics(SMALL_TOWN)
        else:
            city.settlement("2026-11", SMALL_TOWN)
    assert (refused.value.status, refused.value.code) == (403, "statistics_other_municipality")
    assert "rows" not in refused.value.problem
    # the town itself sees its copies: the refusal was about who asked, not an empty table
    with municipality(backend, SMALL_TOWN) as town:
        assert town.municipal_statistics(SMALL_TOWN).totals["copies"] == 2


# -- STAT-005: an operator reads its own stores' statistics, and only its own -----------------
@pytest.mark.requirement("STAT-005", "STAT-002")
@pytest.mark.smoke
def test_an_operator_reads_its_own_stores_copies(backend: World) -> None:
    plan = [  # (operator, store, municipality, copies, day)
        ("konbini-a", "store-a01", CITY, 2, NOV_24),
        ("konbini-a", "store-a02", SMALL_TOWN, 1, NOV_24),
        ("konbini-b", "store-b01", CITY, 3, NOV_24),
        ("konbini-a", "store-a01", SMALL_TOWN, 1, NOV_25),
    ]
    issued: Counter[tuple[str, str, str]] = Counter()
    for n, (operator, store, code, copies, day) in enumerate(plan):
        if day > backend.clock.now().date():
            backend.clock.set(datetime(day.year, day.month, day.day, 9, 0, tzinfo=JST))
        kiosk = store_kiosk(backend, operator, store)
        try:
            done = issue(backend, kiosk, code, "resident_record", copies, index=n)
        finally:
            kiosk.close()
        issued[(operator, store, day.isoformat())] += done.copies_printed
    for operator in ("konbini-a", "konbini-b"):
        with operator_hq(backend, operator) as hq:
            report = hq.operator_statistics(operator)
        seen = {(operator, r["store_id"], r["day"]): r["copies"] for r in report.rows}
        assert seen == {k: v for k, v in issued.items() if k[0] == operator}, operator
        assert report.totals["copies"] == sum(seen.values())
    with operator_hq(backend, "konbini-a") as hq:
        only_25 = hq.operator_statistics("konbini-a", NOV_25, NOV_25)
    assert [(r["store_id"], r["copies"]) for r in only_25.rows] == [("store-a01", 1)]


@pytest.mark.requirement("STAT-005")
@pytest.mark.parametrize("who", ["another-operator", "kiosk-naming-no-operator", "municipality"])
def test_an_operator_never_sees_another_operators_rows(backend: World, who: str) -> None:
    kiosk = store_kiosk(backend, "konbini-b", "store-b01")
    try:
        issue(backend, kiosk, CITY, "resident_record", 2)
    finally:
        kiosk.close()
    pair = {
        "another-operator": backend.tls.kiosk_client("konbini-a-hq", operator="konbini-a"),
        "kiosk-naming-no-operator": backend.tls.kiosk_client(KIOSK_ID),
        "municipality": backend.tls.lgpki_client(CITY),
    }[who]
    expected = {
        "another-operator": "statistics_other_operator",
        "kiosk-naming-no-operator": "operator_not_identified",
        "municipality": "client_not_allowed",
    }[who]
    with reader(backend, pair) as snoop, pytest.raises(CentreApiError) as refused:
        snoop.operator_statistics("konbini-b")
    assert (refused.value.status, refused.value.code) == (403, expected)
    assert "rows" not in refused.value.problem
    if who == "another-operator":
        with operator_hq(backend, "konbini-a") as hq:
            assert hq.operator_statistics("konbini-a").rows == []


@pytest.mark.requirement("STAT-005", "STAT-002")
def test_a_kiosk_cannot_count_its_copies_for_another_operator(backend: World) -> None:
    kiosk = store_kiosk(backend, "konbini-a", "store-a01")
    try:
        with pytest.raises(CentreApiError) as refused:
            kiosk.client.open_session(kiosk.kiosk_id, "store-b01", "konbini-b")
        assert (refused.value.status, refused.value.code) == (403, "operator_certificate_mismatch")
        issue(backend, kiosk, CITY, "resident_record", 1)
    finally:
        kiosk.close()
    with operator_hq(backend, "konbini-b") as hq:
        assert hq.operator_statistics("konbini-b").totals["copies"] == 0
    with operator_hq(backend, "konbini-a") as hq:
        rows = hq.operator_statistics("konbini-a").rows
    assert [(r["store_id"], r["copies"]) for r in rows] == [("store-a01", 1)]

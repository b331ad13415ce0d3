"""Settlement (seed II.7.4, III.2.5): commission, what operators pay and municipalities
invoice, negative nets, and the annual operating burden by population tier.

Read as a municipal system reads it: `GET /v1/settlement` and `GET /v1/burden` with an
LGPKI certificate; what the kiosk paid is what the kiosk API confirmed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from rig.core.drivers.centre_client import CentreClient, RequestReceipt
from rig.harness.demand.uses import day_trace, settlement_of
from rig.harness.world import (
    CARD_AP_ONLY_VILLAGE,
    CITY,
    JPKI_ONLY_CITY,
    KOSEKI_TOWN,
    SMALL_TOWN,
    World,
)
from scenarios.support import KioskSide

pytestmark = pytest.mark.world(marks="layout")
COMMISSION = 123
DEMAND_EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "city-150k.yaml"


def municipal(world: World, code: str) -> CentreClient:
    return CentreClient(
        world.endpoints["center_url"],
        client=world.tls.lgpki_client(code),
        server_ca=world.tls.server_ca,
    )


def invoice(world: World, code: str, month: str = "2026-11") -> dict[str, Any]:
    with municipal(world, code) as client:
        rows = client.settlement(month, code)
    assert len(rows) == 1, rows
    return rows[0]


def issue(world: World, code: str, copies: int = 1, **ids: str) -> RequestReceipt:
    card = world.issue_card("mynumber-valid", world.resident(code), code=code)
    kiosk = KioskSide.connect(world, **ids)
    try:
        session_id, _ = kiosk.login_jpki(card)
        done, _ = kiosk.issue(session_id, "resident_record", copies=copies)
    finally:
        kiosk.close()
    return done


@pytest.mark.requirement("SETTLE-001")
@pytest.mark.smoke
@pytest.mark.parametrize(("code", "copies"), [(CITY, 1), (CITY, 4), (KOSEKI_TOWN, 2)])
def test_commission_is_123_yen_per_copy(backend: World, code: str, copies: int) -> None:
    done = issue(backend, code, copies)
    row = invoice(backend, code)
    assert row["commission"] == COMMISSION * copies
    assert row["fees"] == done.paid_yen == done.fee_per_copy * copies


@pytest.mark.requirement("SETTLE-002", "SETTLE-003", "SETTLE-004")
def test_invoices_add_up_to_what_operators_pay(backend: World) -> None:
    receipts = [
        issue(backend, CITY, 2, operator_id="konbini-a"),
        issue(backend, SMALL_TOWN, 1, operator_id="konbini-a"),
        issue(backend, KOSEKI_TOWN, 3, operator_id="konbini-b"),
        issue(backend, CITY, 1, operator_id="konbini-b"),
    ]
    collected = sum(r.paid_yen or 0 for r in receipts)
    copies = sum(r.copies_printed for r in receipts)
    operators_pay = collected - COMMISSION * copies  # fees collected minus their commission
    invoices = {code: invoice(backend, code) for code in (CITY, SMALL_TOWN, KOSEKI_TOWN)}
    for code, row in invoices.items():
        fees = sum(r.paid_yen or 0 for r, c in zip(receipts, _codes(), strict=True) if c == code)
        printed = sum(
            r.copies_printed for r, c in zip(receipts, _codes(), strict=True) if c == code
        )
        assert row["fees"] == fees
        assert row["net"] == fees - COMMISSION * printed
    assert sum(row["net"] for row in invoices.values()) == operators_pay


def _codes() -> list[str]:
    return [CITY, SMALL_TOWN, KOSEKI_TOWN, CITY]


@pytest.mark.requirement("SETTLE-005")
@pytest.mark.parametrize(("fee", "net"), [(10, 10 - 123), (123, 0), (0, -123)])
def test_a_fee_below_the_commission_gives_a_negative_net(
    backend: World, fee: int, net: int
) -> None:
    # set-up: the municipality charges `fee` yen for a 住民票 (e.g. a 10-yen campaign fee)
    configs = backend.municipal.service.configs
    config = configs[CITY]
    configs[CITY] = config.model_copy(update={"fees": {**config.fees, "resident_record": fee}})
    done = issue(backend, CITY)
    assert done.fee_per_copy == fee
    row = invoice(backend, CITY)
    assert (row["fees"], row["commission"], row["net"]) == (fee, COMMISSION, net)


@pytest.mark.requirement("SETTLE-006", "SETTLE-007")
@pytest.mark.parametrize(
    ("kind", "population", "yen"),
    [
        ("designated_city", 1_000_000, 10_000_000),
        ("designated_city", 999_999, 8_000_000),
        ("designated_city", 2_700_000, 10_000_000),
        ("city", 150_000, 5_000_000),
        ("city", 149_999, 3_000_000),
        ("ward", 150_000, 5_000_000),
        ("ward", 149_999, 3_000_000),
        ("town", 15_600, 1_000_000),
        ("village", 1_200, 1_000_000),
    ],
)
def test_annual_burden_by_population_tier(
    backend: World, kind: str, population: int, yen: int
) -> None:
    with municipal(backend, CITY) as client:
        answer = client.http.get("/burden", params={"kind": kind, "population": str(population)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["annual_burden_yen"] == yen


@pytest.mark.requirement("SETTLE-006")
def test_the_rig_municipalities_burden(backend: World) -> None:
    expected = {
        CITY: 5_000_000,
        SMALL_TOWN: 1_000_000,
        KOSEKI_TOWN: 1_000_000,
        JPKI_ONLY_CITY: 3_000_000,  # a city under 150,000
        CARD_AP_ONLY_VILLAGE: 1_000_000,
    }
    with municipal(backend, CITY) as client:
        for config in backend.municipal.configs:
            answer = client.http.get(
                "/burden", params={"kind": config.kind, "population": str(config.population)}
            ).json()
            assert answer["annual_burden_yen"] == expected[config.code], config.code


@pytest.mark.requirement("SETTLE-008")
def test_real_store_test_issuances_are_settled_as_live(backend: World) -> None:
    live = issue(backend, CITY, 1, store_id="store-0001")
    test = issue(backend, CITY, 2, store_id="store-0001-realtest", operator_id="konbini-test")
    row = invoice(backend, CITY)
    assert row["issuances"] == 2
    assert row["copies"] == 3
    assert row["fees"] == (live.paid_yen or 0) + (test.paid_yen or 0)
    assert row["net"] == row["fees"] - COMMISSION * 3


@pytest.mark.requirement("SETTLE-001", "SETTLE-003")
def test_applicants_drawn_from_the_demand_model_settle_as_it_expects(backend: World) -> None:
    # the first 住民票 applicants of a modelled day (examples/city-150k.yaml), with the copies
    # the model drew for them, issued through the pipeline at this world's fee
    trace = day_trace(DEMAND_EXAMPLE, date(2026, 11, 24), seed=3)
    drawn = [v.copies for v in trace.visits if v.served and v.certificate == "resident_record"][:3]
    assert drawn
    for copies in drawn:
        issue(backend, CITY, copies)
    fee = backend.municipal.service.configs[CITY].fees["resident_record"]
    expected = settlement_of([("resident_record", n) for n in drawn], {"resident_record": fee})
    row = invoice(backend, CITY)
    assert (row["copies"], row["fees"], row["commission"], row["net"]) == (
        expected.copies, expected.fees_yen, expected.commission_yen, expected.net_yen,
    )  # fmt: skip

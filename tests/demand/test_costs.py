"""The cost arithmetic against hand-computed cases (seed III.2.4, III.2.5, 参考情報)."""

from __future__ import annotations

import pytest

from rig.harness.demand.costs import construction_reference, year_costs
from rig.harness.demand.params import CertType, Costs

FEES: dict[CertType, int] = {
    "resident_record": 200,
    "seal_registration": 200,
    "tax_certificate": 200,
    "koseki": 350,
    "fuhyo": 200,
}


def test_a_city_of_150000_without_counter_savings_never_breaks_even() -> None:
    # 30,000 住民票 + 10,000 戸籍 copies: fees 6,000,000 + 3,500,000 = 9,500,000 yen;
    # commission 123 x 40,000 = 4,920,000; burden (city, 150,000: 以上) 5,000,000;
    # net = 5,000,000 + 4,920,000 - 9,500,000 = 420,000 yen a year: a cost, so never.
    c = year_costs(
        {"resident_record": 30_000, "koseki": 10_000}, FEES, kind="city", population=150_000,
        offers_card_ap=False, costs=Costs(),
    )  # fmt: skip
    assert (c.copies, c.fees_yen, c.commission_yen, c.burden_yen) == (
        40_000,
        9_500_000,
        4_920_000,
        5_000_000,
    )
    assert c.net_cost_yen == 420_000
    assert all(v is None for v in c.years_to_break_even.values())


def test_counter_savings_and_maintenance_give_the_break_even_years() -> None:
    # a city of 149,999 (未満: 3,000,000 yen) with カードAP (904,762 yen maintenance) and
    # 1,000,000 yen server maintenance; 50,000 住民票 copies at 200 yen = 10,000,000 yen;
    # commission 6,150,000; counter work saved 300 x 50,000 = 15,000,000;
    # net = 3,000,000 + 6,150,000 + 904,762 + 1,000,000 - 10,000,000 - 15,000,000 = -13,945,238
    c = year_costs(
        {"resident_record": 50_000}, {"resident_record": 200}, kind="city", population=149_999,
        offers_card_ap=True,
        costs=Costs(server_maintenance_yen_per_year=1_000_000, counter_cost_per_copy_yen=300,
                    construction_yen=20_000_000),
    )  # fmt: skip
    assert c.burden_yen == 3_000_000 and c.card_ap_maintenance_yen == 904_762
    assert c.net_cost_yen == -13_945_238
    # 住民票 only, with カードAP: rows ① ② ③ ⑥ (万円): average 773 + 754 + 1,128 + 212 = 2,867
    assert c.construction_yen["average"] == 28_670_000
    assert c.construction_yen["highest"] == (2205 + 3777 + 3680 + 646) * 10_000
    assert c.construction_yen["lowest"] == (187 + 105 + 234 + 32) * 10_000
    assert c.years_to_break_even["average"] == pytest.approx(28_670_000 / 13_945_238, abs=0.01)
    assert c.years_to_break_even["own_estimate"] == pytest.approx(1.43, abs=0.01)


def test_construction_rows_follow_the_certificates_offered() -> None:
    # every type, no カードAP: ② ③ ④ ⑤ ⑥ average = 754 + 1,128 + 543 + 1,079 + 212 = 3,716 万円
    assert construction_reference(frozenset(FEES), False) == {
        "highest": 114_640_000, "lowest": 7_310_000, "average": 37_160_000,
    }  # fmt: skip
    assert construction_reference(frozenset({"resident_record"}), False)["average"] == 20_940_000


def test_burden_tiers_reach_the_costs() -> None:
    def burden(kind: str, population: int) -> int:
        return year_costs({}, FEES, kind=kind, population=population, offers_card_ap=False,  # type: ignore[arg-type]
                          costs=Costs()).burden_yen  # fmt: skip

    assert burden("designated_city", 1_000_000) == 10_000_000
    assert burden("designated_city", 999_999) == 8_000_000
    assert burden("ward", 150_000) == 5_000_000
    assert burden("village", 900) == 1_000_000


def test_copies_without_a_fee_are_refused() -> None:
    with pytest.raises(ValueError, match="no fee"):
        year_costs({"koseki": 1}, {"resident_record": 200}, kind="town", population=1,
                   offers_card_ap=False, costs=Costs())  # fmt: skip

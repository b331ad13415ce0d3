"""What コンビニ交付 costs and brings a municipality in a year (seed III.2, 参考情報).

- fees collected: copies × the municipality's kiosk fee for that certificate;
- commission to the store operators: 123 yen per copy, tax included (seed III.2.5 (2));
- operating burden (運営負担金) by population tier (seed III.2.5 (1)): rig/core/burden.py;
- カードAP's basic-system maintenance, 904,762 yen a year before tax, only where カードAP is
  offered (seed III.2.4 ①); the issuance server's maintenance is the municipality's own figure;
- construction: the seed's reference figures from 59 municipalities (参考情報, FY2010-2012),
  highest / lowest / average per row, summed over the rows that apply.

net cost per year = burden + commission + maintenance − fees − counter work saved;
years to break even = construction ÷ (−net cost per year) when the year nets a gain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rig.core.burden import annual_burden
from rig.harness.demand.params import KOSEKI_GROUP, CertType, Costs, MunicipalityKind

COMMISSION_PER_COPY_YEN = 123
CARD_AP_MAINTENANCE_YEN = 904_762  # tax excluded, as the seed prints it
MAN = 10_000  # the seed's unit, 万円

#: 参考情報 rows, in 万円: (highest, lowest, average)
CONSTRUCTION_REFERENCE: dict[str, tuple[int, int, int]] = {
    "standard_system_new": (2205, 187, 773),  # ① 標準システム 基本システムの新規構築 (カードAP)
    "resident_seal_existing_system": (3777, 105, 754),  # ② 既存システムの改修 (住民票・印鑑)
    "resident_seal_issuance_server": (3680, 234, 1128),  # ③ 証明発行サーバの構築・改修
    "tax_koseki_existing_system": (1355, 126, 543),  # ④ 既存システムの改修 (税・戸籍)
    "tax_koseki_issuance_server": (2006, 234, 1079),  # ⑤ 証明発行サーバの構築・改修
    "centre_connection": (646, 32, 212),  # ⑥ 証明書交付センターへの接続
}


def construction_rows(types: set[str] | frozenset[str], offers_card_ap: bool) -> list[str]:
    rows = ["resident_seal_existing_system", "resident_seal_issuance_server", "centre_connection"]
    if types & ({"tax_certificate"} | KOSEKI_GROUP):
        rows[2:2] = ["tax_koseki_existing_system", "tax_koseki_issuance_server"]
    if offers_card_ap:
        rows.insert(0, "standard_system_new")
    return rows


def construction_reference(
    types: set[str] | frozenset[str], offers_card_ap: bool
) -> dict[str, int]:
    """Highest, lowest and average construction cost in yen (sums of the rows that apply)."""
    rows = construction_rows(types, offers_card_ap)
    return {
        label: sum(CONSTRUCTION_REFERENCE[r][i] for r in rows) * MAN
        for i, label in enumerate(("highest", "lowest", "average"))
    }


@dataclass(frozen=True)
class YearCosts:
    copies: int
    fees_yen: int
    commission_yen: int
    burden_yen: int
    card_ap_maintenance_yen: int
    server_maintenance_yen: int
    counter_work_saved_yen: int
    net_cost_yen: int  # positive: the year costs money; negative: it nets a gain
    construction_yen: dict[str, int]
    years_to_break_even: dict[str, float | None]  # None: never at this year's figures

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def year_costs(
    copies_by_type: dict[CertType, int],
    fees: dict[CertType, int],
    *,
    kind: MunicipalityKind,
    population: int,
    offers_card_ap: bool,
    costs: Costs,
) -> YearCosts:
    """The year's money for whole copy counts (round expected values before calling)."""
    unknown = set(copies_by_type) - set(fees)
    if unknown:
        raise ValueError(f"copies of {sorted(unknown)} but no fee for them")
    copies = sum(copies_by_type.values())
    fees_yen = sum(n * fees[k] for k, n in copies_by_type.items())
    commission = COMMISSION_PER_COPY_YEN * copies
    burden = annual_burden(kind, population)
    card_ap = CARD_AP_MAINTENANCE_YEN if offers_card_ap else 0
    saved = costs.counter_cost_per_copy_yen * copies
    net = burden + commission + card_ap + costs.server_maintenance_yen_per_year - fees_yen - saved
    construction = construction_reference(frozenset(fees), offers_card_ap)
    if costs.construction_yen is not None:
        construction["own_estimate"] = costs.construction_yen
    years = {
        label: (round(cost / -net, 2) if net < 0 else None) for label, cost in construction.items()
    }
    return YearCosts(
        copies, fees_yen, commission, burden, card_ap, costs.server_maintenance_yen_per_year,
        saved, net, construction, years,
    )  # fmt: skip

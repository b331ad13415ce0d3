"""The nation's year by aggregation: one pooled population per burden tier, expected values.

Every quantity of the model is linear in population once a tier's store density, card
penetration and calendar are fixed, so the ~1,300 participating municipalities of a tier
can be pooled into one population without changing the expected totals. Each tier runs
`aggregate` (numpy over 105,120 five-minute bins); no applicant is drawn one by one. The
operating burden is the only per-municipality quantity: participating × the tier's burden.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rig.core.burden import annual_burden
from rig.harness.demand.costs import COMMISSION_PER_COPY_YEN
from rig.harness.demand.figures import Series, load_figures
from rig.harness.demand.model import Population, Result, Setup, aggregate
from rig.harness.demand.params import CERT_TYPES, DEFAULTS_FILE, NATION_FILE, Nation, load_nation


@dataclass
class NationRun:
    nation: Nation
    tiers: list[Result]
    series: Series

    @property
    def copies(self) -> float:
        return float(self.series.copies.sum())

    def check(self) -> dict[str, Any]:
        ref = self.nation.reference_copies
        deviation = (self.copies - ref) / ref
        return {
            "reference_copies": ref,
            "reference": f"FY{self.nation.fiscal_year} issuances (shared/notes/domain.md)",
            "model_copies": round(self.copies),
            "deviation": round(deviation, 4),
            "tolerance": self.nation.tolerance,
            "ok": abs(deviation) <= self.nation.tolerance,
        }


def tier_population(nation: Nation, index: int) -> Population:
    tier = nation.tiers[index]
    return Population(
        tier.population, nation.card_penetration, tier.stores_per_10k, nation.fiscal_year,
        tuple(t for t in CERT_TYPES if t in nation.fees), True, nation.demand, None,
    )  # fmt: skip


def run_nation(path: Path = NATION_FILE, defaults: Path = DEFAULTS_FILE) -> NationRun:
    nation = load_nation(path, defaults)
    results = [aggregate(Setup.build(tier_population(nation, i))) for i in range(len(nation.tiers))]
    return NationRun(nation, results, Series.of(results))


def nation_summary(run: NationRun) -> dict[str, Any]:
    nation, s = run.nation, run.series
    copies_by_type = {k: float(v.sum()) for k, v in s.copies_by_type.items()}
    fees = sum(n * nation.fees[k] for k, n in copies_by_type.items())
    commission = COMMISSION_PER_COPY_YEN * round(run.copies)  # per whole copy, as invoiced
    tiers = []
    burden_total = 0
    for tier, result in zip(nation.tiers, run.tiers, strict=True):
        burden = annual_burden(tier.kind, tier.representative_population)
        burden_total += burden * tier.participating
        tiers.append(
            {
                "tier": tier.name,
                "participating": tier.participating,
                "population": tier.population,
                "issuances": round(result.total("copies")),
                "burden_per_municipality_yen": burden,
                "burden_yen": burden * tier.participating,
            }
        )
    return {
        "scale": "nation",
        "method": "aggregated (expected values per 5-minute bin, tiers pooled)",
        "fiscal_year": nation.fiscal_year,
        "participating_municipalities": sum(t.participating for t in nation.tiers),
        "issuances_per_year": round(run.copies),
        "applicants_per_year": round(float(s.issued.sum())),
        "copies_by_type": {k: round(v) for k, v in copies_by_type.items()},
        "refused": round(float(s.refused.sum())),
        "came_back": round(float(s.came_back.sum())),
        "went_to_counter": round(float((s.refused - s.came_back).sum())),
        **load_figures(s),
        "money": {
            "fees_collected_yen": round(fees),
            "commissions_yen": round(commission),
            "commission_per_copy_yen": COMMISSION_PER_COPY_YEN,
            "operating_burden_yen": burden_total,
        },
        "tiers": tiers,
        "check": run.check(),
    }

"""Demand model benchmark: a year simulated for the nation and for one city.

- demand_national_year_s: the nation's fiscal year by aggregation (rig/harness/demand/nation.yaml:
  ~1,300 municipalities in 7 burden tiers, expected values per 5-minute bin), from loading
  the parameters to the summary; plots and page not included. Target: <= 60 s.
- demand_municipality_year_s: a city of 150,000 (examples/city-150k.yaml, the seed's
  burden-tier boundary), every applicant (~38,000) a simpy event on the rig clock, plus the
  aggregated expectation and the summary.
"""

from __future__ import annotations

import time
from pathlib import Path

from rig.harness.bench import Figure
from rig.harness.demand.model import Population, Setup, aggregate, simulate
from rig.harness.demand.nation import nation_summary, run_nation
from rig.harness.demand.params import load_municipality
from rig.harness.demand.report import municipality_summary

CITY = Path(__file__).resolve().parents[3] / "examples" / "city-150k.yaml"


def measure() -> list[Figure]:
    began = time.perf_counter()
    nation_summary(run_nation())
    national = time.perf_counter() - began

    began = time.perf_counter()
    m = load_municipality(CITY)
    setup = Setup.build(Population.of(m))
    municipality_summary(m, simulate(setup, seed=0), aggregate(setup))
    city = time.perf_counter() - began
    return [
        Figure("demand_national_year_s", national, "s"),
        Figure("demand_municipality_year_s", city, "s"),
    ]

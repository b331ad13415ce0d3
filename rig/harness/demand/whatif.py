"""What an outage or a maintenance window on one day does to a municipality's demand.

The same applicants are drawn twice (same seed: the arrivals do not depend on unplanned
incidents), once without and once with the incidents, per applicant on the rig clock, from
the start of the day; returners are followed to the end of the fiscal year. The difference
is the incident's effect: who was refused, who came back (that day or later) and who went
to the counter.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from rig.core.calendar import Incident, IncidentKind
from rig.core.clock import JST
from rig.harness.demand.grid import BINS_PER_DAY
from rig.harness.demand.model import Population, Result, Setup, aggregate, simulate
from rig.harness.demand.params import Municipality

WHAT_IF_KINDS = (
    IncidentKind.JPKI_OUTAGE,
    IncidentKind.LGWAN_OUTAGE,
    IncidentKind.MUNICIPAL_MAINTENANCE,
    IncidentKind.CENTRE_MAINTENANCE,
)


def parse_span(day: date, text: str, kind: IncidentKind) -> Incident:
    """`HH:MM-HH:MM` on `day` (an end at or before the start runs past midnight)."""
    try:
        left, right = text.split("-")
        start, end = time.fromisoformat(left.strip()), time.fromisoformat(right.strip())
    except ValueError as exc:
        raise ValueError(f"{text!r} is not HH:MM-HH:MM") from exc
    begin = datetime.combine(day, start, JST)
    finish = datetime.combine(day, end, JST)
    if finish <= begin:
        raise ValueError(f"{text!r}: the end is not after the start")
    for moment in (start, end):
        if moment.minute % 5 or moment.second:
            raise ValueError(f"{text!r}: times must be on a 5-minute boundary")
    return Incident(kind, begin, finish)


def _day_slice(result: Result, lo: int) -> dict[str, float]:

    def that_day(what: str) -> float:
        return float(result.series(what)[lo : lo + BINS_PER_DAY].sum())

    return {
        "turned_up": that_day("issued") - that_day("returned") + that_day("refused"),
        "issued_that_day": that_day("issued"),
        "copies_that_day": that_day("copies"),
        "refused": that_day("refused"),
        "came_back": that_day("came_back"),
        "came_back_same_day": that_day("returned"),
        "issued_in_year": float(result.series("issued")[lo:].sum()),
    }


def what_if(m: Municipality, day: date, incidents: list[Incident], *, seed: int) -> dict[str, Any]:
    for incident in incidents:
        if incident.kind not in WHAT_IF_KINDS:
            raise ValueError(f"{incident.kind.value} is not a demand what-if")
    pop = Population.of(m)
    base_setup = Setup.build(pop)
    grid = base_setup.grid
    lo = grid.bin_of(datetime.combine(day, time(0), JST))
    if not 0 <= lo < grid.n_bins:
        raise ValueError(f"{day} is not in FY{m.fiscal_year}")
    hit_setup = Setup.build(pop, incidents)
    base = simulate(base_setup, seed=seed, start_bin=lo, end_bin=lo + BINS_PER_DAY)
    hit = simulate(hit_setup, seed=seed, start_bin=lo, end_bin=lo + BINS_PER_DAY)
    expected = aggregate(hit_setup, lo, lo + BINS_PER_DAY)
    with_incident = _day_slice(hit, lo)
    baseline = _day_slice(base, lo)
    refused_by_incident = with_incident["refused"] - baseline["refused"]
    return {
        "municipality": m.name,
        "day": day.isoformat(),
        "incidents": [
            {"kind": i.kind.value, "start": i.start.isoformat(), "end": i.end.isoformat()}
            for i in incidents
        ],
        "method": "per-applicant (simpy on the rig clock), same applicants with and without",
        "baseline": {k: round(v) for k, v in baseline.items()},
        "with_incidents": {k: round(v) for k, v in with_incident.items()},
        "refused_by_incidents": round(refused_by_incident),
        "came_back": round(with_incident["came_back"] - baseline["came_back"]),
        "came_back_same_day": round(
            with_incident["came_back_same_day"] - baseline["came_back_same_day"]
        ),
        "went_to_counter": round(
            (with_incident["refused"] - with_incident["came_back"])
            - (baseline["refused"] - baseline["came_back"])
        ),
        "expected_refused_with_incidents": round(float(expected.series("refused").sum()), 2),
        "_series": (base, hit, lo),
    }

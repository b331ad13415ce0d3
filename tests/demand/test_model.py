"""The demand model: totals, the closures and hours, the two evaluators agreeing."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import numpy as np
import pytest

from rig.core.calendar import Incident, IncidentKind, in_year_end_closure
from rig.core.clock import JST
from rig.core.holidays import is_national_holiday
from rig.harness.demand.grid import BIN_S
from rig.harness.demand.model import Population, Setup, aggregate, simulate
from rig.harness.demand.params import Municipality

from .conftest import municipality


def _times(result_series: np.ndarray, setup: Setup) -> list[datetime]:
    return [setup.grid.time_of(int(b)) for b in np.nonzero(result_series)[0]]


def test_the_expected_year_adds_up_to_the_volume_parameters() -> None:
    m = municipality()
    pop = Population.of(m)
    vol, mix = m.demand.volume, m.demand.mix
    copies = m.population * m.card_penetration * vol.copies_per_holder_per_year
    copies *= (m.stores_per_10k / vol.national_stores_per_10k) ** vol.store_elasticity
    assert m.stores_per_10k / vol.national_stores_per_10k > vol.min_store_ratio
    assert pop.latent_applicants == pytest.approx(copies / mix.mean_copies)
    result = aggregate(Setup.build(pop))
    turned_up = sum(float(v.sum()) for v in result.setup.turn_up.values())
    assert turned_up == pytest.approx(pop.latent_applicants, rel=1e-9)  # all types offered
    # served + went to the counter + returns beyond the year = everyone who turned up
    counter = result.total("refused") - result.total("came_back")
    assert result.total("issued") + counter + result.back_after_period == pytest.approx(
        turned_up, rel=1e-9
    )
    assert result.total("copies") == pytest.approx(result.total("issued") * mix.mean_copies)


def test_no_issuance_in_the_year_end_closure(town: Municipality) -> None:
    setup = Setup.build(Population.of(town))
    for result in (aggregate(setup), simulate(setup, seed=3)):
        issued = result.series("issued")
        for when in _times(issued, setup):
            assert not in_year_end_closure(when.date()), when
        year_end = [
            setup.grid.bin_of(datetime(2026, 12, 29, tzinfo=JST)) + i for i in range(6 * 288)
        ]
        assert issued[year_end].sum() == 0
        assert result.series("refused")[year_end].sum() > 0  # some still turned up


def test_none_outside_the_centre_or_the_municipality_hours(town: Municipality) -> None:
    setup = Setup.build(Population.of(town))
    run = simulate(setup, seed=5, keep_records=True)
    assert run.records
    for a in run.records:
        if a.outcome not in ("issued", "issued_on_return"):
            continue
        at = a.returned_at_s if a.outcome == "issued_on_return" else a.at_s
        assert at is not None
        when = setup.grid.start + timedelta(seconds=at)
        t, day = when.time(), when.date()
        assert time(8, 0) <= t < time(20, 0), when  # the town's own hours
        assert time(6, 30) <= t < time(23, 0), when  # the centre's
        assert day.weekday() != 2 and not is_national_holiday(day), when  # wed, holidays
        assert not (
            datetime(2026, 7, 12, 6, 30, tzinfo=JST) <= when < datetime(2026, 7, 13, 12, tzinfo=JST)
        )
        if a.certificate in ("koseki", "fuhyo"):
            assert time(9) <= t < time(17) and day.weekday() < 5, (a.certificate, when)
    # the expected values too: no served mass in a bin where the certificate is closed
    expected = aggregate(setup)
    for cert, served in expected.issued.items():
        open_for_any_card = setup.allowed[(cert, "jpki")] | setup.allowed[(cert, "card_ap")]
        assert served[~open_for_any_card].sum() == 0, cert
        assert served[open_for_any_card].sum() > 0, cert


def test_per_applicant_and_aggregated_totals_agree(town: Municipality) -> None:
    """Stated tolerance: 4 Poisson standard deviations on the year, per month and per type."""
    setup = Setup.build(Population.of(town))
    expected, run = aggregate(setup), simulate(setup, seed=11)

    def close(got: float, want: float) -> bool:
        return abs(got - want) <= 4 * math.sqrt(max(want, 1.0)) + 1

    for what in ("issued", "refused", "came_back", "returned"):
        assert close(run.total(what), expected.total(what)), what
    for cert in setup.pop.types:
        assert close(float(run.issued[cert].sum()), float(expected.issued[cert].sum())), cert
    days = setup.grid.days
    for month in range(1, 13):
        idx = np.repeat([d.month == month for d in days], 288)
        assert close(
            float(run.series("issued")[idx].sum()), float(expected.series("issued")[idx].sum())
        )
    # copies: the mean copies per applicant
    assert abs(run.total("copies") - expected.total("copies")) <= 0.03 * expected.total("copies")


def test_a_municipality_without_stores_keeps_the_floor_of_demand() -> None:
    none = Population.of(municipality(stores=0))
    vol = none.params.volume
    assert none.store_factor == pytest.approx(vol.min_store_ratio**vol.store_elasticity)
    assert none.latent_applicants > 0


def test_the_moving_season_and_the_evenings_peak() -> None:
    setup = Setup.build(Population.of(municipality()))
    daily = aggregate(setup).series("issued").reshape(-1, 288).sum(axis=1)
    days = setup.grid.days
    late_march = np.mean(
        [v for d, v in zip(days, daily, strict=True) if d.month == 3 and d.day >= 20]
    )
    june = np.mean([v for d, v in zip(days, daily, strict=True) if d.month == 6])
    assert late_march > 1.4 * june
    hourly = aggregate(setup).series("issued").reshape(-1, 24, 12).sum(axis=2).mean(axis=0)
    assert int(np.argmax(hourly)) == 19


def test_a_jpki_outage_refuses_jpki_only_and_people_come_back() -> None:
    m = municipality(offers_card_ap=True)
    day = date(2026, 6, 10)
    outage = Incident(
        IncidentKind.JPKI_OUTAGE,
        datetime.combine(day, time(10), JST),
        datetime.combine(day, time(11, 30), JST),
    )
    setup = Setup.build(Population.of(m), [outage])
    lo = setup.grid.bin_of(outage.start)
    hi = setup.grid.bin_of(outage.end)
    assert not setup.allowed[("resident_record", "jpki")][lo:hi].any()
    assert setup.allowed[("resident_record", "card_ap")][lo:hi].all()
    result = aggregate(setup)
    refused = result.series("refused")[lo:hi].sum()
    share = m.demand.mix.authentication
    jpki = share["my_number_card"] + share["smartphone"]
    turned_up = sum(float(v[lo:hi].sum()) for v in setup.turn_up.values())
    assert refused == pytest.approx(turned_up * jpki)
    came_back = result.series("came_back")[lo:hi].sum()
    assert came_back == pytest.approx(refused * m.demand.behaviour.come_back_share)
    # the returns land after the outage, mostly the same day
    returned = result.series("returned")
    assert returned[lo:hi].sum() == 0
    assert returned[hi : hi + 288].sum() == pytest.approx(came_back, rel=0.05)
    assert BIN_S == 300

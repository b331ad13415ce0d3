"""The nation's check, the CLI's outputs and the model's uses inside the rig."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rig.core.calendar import Incident, IncidentKind
from rig.core.clock import JST
from rig.harness.demand.model import Population, Setup, aggregate
from rig.harness.demand.nation import nation_summary, run_nation
from rig.harness.demand.uses import arrival_times, day_trace, expected_settlement, settlement_of

from .conftest import EXAMPLES, municipality

runner = CliRunner()


def test_the_nation_matches_fy2023_within_the_stated_tolerance() -> None:
    run = run_nation()
    summary = nation_summary(run)
    check = summary["check"]
    assert check["reference_copies"] == 31_890_000 and check["tolerance"] == 0.05
    assert abs(summary["issuances_per_year"] - 31_890_000) <= 0.05 * 31_890_000
    assert check["ok"]
    assert 1_250 <= summary["participating_municipalities"] <= 1_350  # about 1,300 (domain.md)
    assert summary["money"]["commissions_yen"] == pytest.approx(
        123 * summary["issuances_per_year"], abs=1
    )
    assert sum(t["issuances"] for t in summary["tiers"]) == pytest.approx(
        summary["issuances_per_year"], abs=10
    )


def test_rig_demand_year_writes_plots_page_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "year"
    result = runner.invoke(
        __import__("rig.harness.cli", fromlist=["app"]).app,
        ["demand", "year", "-m", str(EXAMPLES / "town-12k.yaml"), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    for key in ("issuances_per_year", "peak_hour", "p99_hour", "money"):
        assert key in summary
    assert summary["issuances_per_year"] > 0
    assert (
        abs(summary["issuances_per_year"] - summary["expected_issuances_per_year"])
        < 0.1 * summary["expected_issuances_per_year"]
    )
    money = summary["money"]
    assert money["commission_yen"] == 123 * money["copies"]
    assert money["burden_yen"] == 1_000_000  # a town
    assert {p.name for p in out.glob("*.png")} >= {
        "daily.png",
        "hourly.png",
        "load.png",
        "money.png",
    }
    assert "summary.json" in (out / "index.html").read_text()


def test_soak_arrivals_follow_the_model_inside_the_centre_hours() -> None:
    start = datetime(2026, 11, 30, 6, 30, tzinfo=JST)
    times = arrival_times(random.Random(7), 2_000, start, 7)
    assert times == sorted(times) and len(times) == 2_000
    assert all(start <= t < start + timedelta(days=7) for t in times)
    assert all(time(6, 30) <= t.time() < time(22, 50) for t in times)
    evening = sum(18 <= t.hour < 20 for t in times)
    dawn = sum(t.hour == 6 for t in times)
    assert evening > 4 * dawn  # the shape, not a uniform spread
    assert arrival_times(random.Random(7), 5, start, 7) == arrival_times(
        random.Random(7), 5, start, 7
    )


def test_a_day_trace_for_load_replay() -> None:
    m = municipality(population=150_000, stores=66, kind="city")
    day = date(2026, 6, 10)
    outage = Incident(
        IncidentKind.JPKI_OUTAGE,
        datetime.combine(day, time(10), JST),
        datetime.combine(day, time(11), JST),
    )
    trace = day_trace(m, day, seed=1, incidents=[outage])
    assert trace.visits and [v.offset_s for v in trace.visits] == sorted(
        v.offset_s for v in trace.visits
    )
    for v in trace.visits:
        assert 6.5 * 3600 <= v.offset_s < 23 * 3600
        inside = 10 * 3600 <= v.offset_s < 11 * 3600
        if inside and v.auth != "card_ap":
            assert not v.served
    assert any(not v.served for v in trace.visits)
    series = trace.rate_series(300)
    assert len(series) == 288
    assert sum(rate for _, rate in series) * 300 == pytest.approx(len(trace.visits))
    expected = aggregate(Setup.build(Population.of(m)))
    lo = expected.grid.bin_of(datetime.combine(day, time(0), JST))
    first_visits = sum(1 for v in trace.visits if v.served) + sum(
        1 for v in trace.visits if not v.served
    )
    assert (
        abs(first_visits - expected.series("issued")[lo : lo + 288].sum())
        < 5 * expected.series("issued")[lo : lo + 288].sum() ** 0.5 + 5
    )


def test_expected_settlement_is_fees_minus_123_per_copy() -> None:
    m = municipality()
    s = expected_settlement(m, "2026-11")
    assert s.copies > 0
    assert s.commission_yen == 123 * s.copies
    assert s.net_yen == s.fees_yen - s.commission_yen
    assert settlement_of([("resident_record", 2), ("koseki", 1)], m.fees) == type(s)(
        3, 750, 369, 381
    )
    with pytest.raises(ValueError, match="not in FY2026"):
        expected_settlement(m, "2028-01")


def test_what_if_a_jpki_outage_counts_refused_returners_and_counter() -> None:
    from rig.harness.demand.whatif import parse_span, what_if

    m = municipality(population=150_000, stores=66, kind="city", offers_card_ap=True)
    day = date(2026, 6, 10)
    outage = parse_span(day, "10:00-12:00", IncidentKind.JPKI_OUTAGE)
    result = what_if(m, day, [outage], seed=2)
    assert result["refused_by_incidents"] > 0
    assert result["came_back"] + result["went_to_counter"] == result["refused_by_incidents"]
    assert 0 <= result["came_back_same_day"] <= result["came_back"]
    # the same applicants turned up; fewer were served that day, none extra
    assert result["baseline"]["turned_up"] == result["with_incidents"]["turned_up"]
    lost = result["baseline"]["issued_that_day"] - result["with_incidents"]["issued_that_day"]
    assert lost == result["refused_by_incidents"] - result["came_back_same_day"]
    with pytest.raises(ValueError, match="5-minute"):
        parse_span(day, "10:02-11:00", IncidentKind.JPKI_OUTAGE)


def test_rig_demand_trace_writes_the_visits_and_rates(tmp_path: Path) -> None:
    # spaces in the path: a wrapped line would break the JSON string in two
    out = tmp_path / "the trace of one simulated day for the load campaign" / "trace.json"
    result = runner.invoke(
        __import__("rig.harness.cli", fromlist=["app"]).app,
        ["demand", "trace", "-m", str(EXAMPLES / "town-12k.yaml"), "--date", "2026-06-10",
         "--out", str(out), "--step", "300"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["rate_step_s"] == 300 and len(data["rate_per_s"]) == 288
    assert len(data["visits"]) == round(sum(r for _, r in data["rate_per_s"]) * 300)
    said = json.loads(result.output)  # one JSON line, however long the path
    assert said["out"] == str(out) and said["visits"] == len(data["visits"])
    bad = runner.invoke(
        __import__("rig.harness.cli", fromlist=["app"]).app,
        ["demand", "trace", "-m", str(EXAMPLES / "town-12k.yaml"), "--date", "2030-06-10",
         "--out", str(tmp_path / "no.json")],
    )  # fmt: skip
    assert bad.exit_code == 2 and "FY2026" in bad.output
    assert not (tmp_path / "no.json").exists()

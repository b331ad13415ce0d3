"""`rig demand`: a municipality's year, the nation's year, an outage what-if, a day's trace.

Each command checks every input before it writes anything; bad input exits 2 with
`FILE: FIELD: PROBLEM`.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from rig.core.calendar import CalendarError, IncidentKind, IncidentSchedule
from rig.harness.demand.params import (
    DEFAULTS_FILE,
    NATION_FILE,
    DemandInputError,
    load_municipality,
)

app = typer.Typer(
    help="Demand model: volume, peak load, fees, commission, burden, outages (docs/demand.md).",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

MunicipalityOpt = Annotated[
    Path, typer.Option("--municipality", "-m", help="municipality YAML (see examples/)")
]
OutOpt = Annotated[Path, typer.Option("--out", help="folder for summary.json, *.png, index.html")]
ParamsOpt = Annotated[
    Path, typer.Option("--params", help="model defaults (time shape, mix, behaviour)")
]
SeedOpt = Annotated[int, typer.Option(help="random seed of the per-applicant run")]


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)  # one unwrapped line: FILE: FIELD: PROBLEM
    raise typer.Exit(2)


@app.command()
def year(
    municipality: MunicipalityOpt,
    out: OutOpt,
    params: ParamsOpt = DEFAULTS_FILE,
    seed: SeedOpt = 0,
) -> None:
    """A municipality's fiscal year, per applicant on the rig clock."""
    from rig.harness.demand.figures import Series
    from rig.harness.demand.model import Population, Setup, aggregate, simulate
    from rig.harness.demand.report import money_plot, municipality_summary, plots, write_report

    try:
        m = load_municipality(municipality, params)
    except DemandInputError as exc:
        _fail(str(exc))
    setup = Setup.build(Population.of(m))
    run = simulate(setup, seed=seed)
    summary = municipality_summary(m, run, aggregate(setup))
    out.mkdir(parents=True, exist_ok=True)
    images = plots(out, Series.of([run]), m.name)
    images.append(money_plot(out, summary["money"]))
    write_report(out, summary, images, f"{m.name}: FY{m.fiscal_year} demand")
    console.print(
        f"{m.name} FY{m.fiscal_year}: {summary['issuances_per_year']:,} copies, "
        f"p99 hour {summary['p99_hour']['requests_per_hour']} requests; "
        f"net cost {summary['money']['net_cost_yen']:,} yen/year → {out}/index.html",
        markup=False,
    )


@app.command()
def nation(
    out: OutOpt,
    nation_file: Annotated[Path, typer.Option("--nation", help="the nation's tiers")] = NATION_FILE,
    params: ParamsOpt = DEFAULTS_FILE,
) -> None:
    """The nation's fiscal year by aggregation, checked against the published total."""
    from rig.harness.demand.nation import nation_summary, run_nation
    from rig.harness.demand.report import plots, write_report

    try:
        run = run_nation(nation_file, params)
    except DemandInputError as exc:
        _fail(str(exc))
    summary = nation_summary(run)
    out.mkdir(parents=True, exist_ok=True)
    images = plots(out, run.series, "Japan")
    write_report(out, summary, images, f"Japan: FY{run.nation.fiscal_year} demand")
    check = summary["check"]
    console.print(
        f"nation FY{run.nation.fiscal_year}: {summary['issuances_per_year']:,} copies; "
        f"published {check['reference_copies']:,} ({check['deviation']:+.2%}, "
        f"tolerance ±{check['tolerance']:.0%}: {'ok' if check['ok'] else 'OUT'}) → {out}",
        markup=False,
    )
    if not check["ok"]:
        raise typer.Exit(1)


@app.command("whatif")
def what_if_command(
    municipality: MunicipalityOpt,
    day: Annotated[str, typer.Option("--date", help="the day, YYYY-MM-DD")],
    out: OutOpt,
    jpki_outage: Annotated[
        list[str] | None, typer.Option(help="JPKI centre down, HH:MM-HH:MM (repeatable)")
    ] = None,
    lgwan_outage: Annotated[
        list[str] | None, typer.Option(help="LGWAN down, HH:MM-HH:MM (repeatable)")
    ] = None,
    maintenance: Annotated[
        list[str] | None, typer.Option(help="municipal maintenance, HH:MM-HH:MM (repeatable)")
    ] = None,
    incidents: Annotated[
        Path | None, typer.Option(help="an incident schedule YAML (rig/core/calendar.py format)")
    ] = None,
    params: ParamsOpt = DEFAULTS_FILE,
    seed: SeedOpt = 0,
) -> None:
    """The effect of a JPKI outage or a maintenance window on one day: refused, came back."""
    from rig.harness.demand.report import what_if_plot, write_report
    from rig.harness.demand.whatif import parse_span, what_if

    try:
        m = load_municipality(municipality, params)
    except DemandInputError as exc:
        _fail(str(exc))
    try:
        the_day = date.fromisoformat(day)
    except ValueError:
        _fail(f"--date: {day!r} is not YYYY-MM-DD")
    spans = []
    for option, values, kind in (
        ("--jpki-outage", jpki_outage, IncidentKind.JPKI_OUTAGE),
        ("--lgwan-outage", lgwan_outage, IncidentKind.LGWAN_OUTAGE),
        ("--maintenance", maintenance, IncidentKind.MUNICIPAL_MAINTENANCE),
    ):
        for text in values or []:
            try:
                spans.append(parse_span(the_day, text, kind))
            except ValueError as exc:
                _fail(f"{option}: {exc}")
    if incidents is not None:
        try:
            spans.extend(IncidentSchedule.load(incidents).incidents)
        except (CalendarError, OSError) as exc:
            _fail(str(exc))
    if not spans:
        _fail("give at least one incident (--jpki-outage, --lgwan-outage, --maintenance)")
    try:
        result = what_if(m, the_day, spans, seed=seed)
    except ValueError as exc:
        _fail(f"{municipality}: {exc}")
    base, hit, lo = result.pop("_series")
    out.mkdir(parents=True, exist_ok=True)
    image = what_if_plot(out, base, hit, lo, f"{m.name}, {the_day}")
    write_report(out, result, [image], f"{m.name}: what if, {the_day}")
    console.print(
        f"{m.name} {the_day}: {result['refused_by_incidents']} refused by the incidents, "
        f"{result['came_back']} came back, {result['went_to_counter']} went to the counter",
        markup=False,
    )


@app.command()
def trace(
    municipality: MunicipalityOpt,
    day: Annotated[str, typer.Option("--date", help="the day, YYYY-MM-DD")],
    out: Annotated[Path, typer.Option("--out", help="trace JSON file to write")],
    step: Annotated[int, typer.Option(help="seconds per step of the rate series")] = 60,
    params: ParamsOpt = DEFAULTS_FILE,
    seed: SeedOpt = 0,
) -> None:
    """One simulated day's kiosk visits and rate series, for trace-driven load (`rig load`)."""
    from rig.harness.demand.uses import day_trace

    try:
        m = load_municipality(municipality, params)
        the_day = date.fromisoformat(day)
        result = day_trace(m, the_day, seed=seed)
        if step <= 0 or 86400 % step:
            raise ValueError("--step must divide a day")
    except DemandInputError as exc:
        _fail(str(exc))
    except ValueError as exc:
        _fail(f"{municipality}: {exc}")
    out.parent.mkdir(parents=True, exist_ok=True)
    result.write(out, step)
    peak = max(rate for _, rate in result.rate_series(step))
    # one unwrapped JSON line, for scripts
    typer.echo(json.dumps({"visits": len(result.visits), "peak_rate_per_s": peak, "out": str(out)}))

"""The `rig` command line."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from rig.harness.demand.cli import app as demand_app
from rig.harness.load.cli import load as load_command
from rig.harness.selftest.cli import selftest
from rig.harness.validation import cli as _validation_cli

app = typer.Typer(
    help="Konbini issuance rig: emulation and conformance test rig for コンビニ交付.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


@app.callback()
def _root() -> None:
    """Konbini issuance rig."""


def _plain(line: str) -> None:
    """A line of a long-running party's output as it is: no markup, never wrapped (logs)."""
    console.print(line, markup=False, soft_wrap=True)


@contextmanager
def _refused_on(*errors: type[Exception]) -> Iterator[None]:
    """One of `errors` (bad input the user can fix) prints its message in red: exit status 2."""
    try:
        yield
    except errors as exc:
        console.print(str(exc), style="red", markup=False)
        raise typer.Exit(2) from exc


@app.command()
def doctor() -> None:
    """Check that this machine can run the rig; print what is wrong and how to fix it."""
    from rig.harness.doctor import run_checks

    results = run_checks()
    for r in results:
        mark = "[green]ok[/green]  " if r.ok else "[red]FAIL[/red]"
        console.print(f"{mark} {r.name}: {escape(r.detail)}")
        if not r.ok and r.fix:
            console.print(f"       fix: [bold]{escape(r.fix)}[/bold]")
    failed = [r for r in results if not r.ok]
    if failed:
        console.print(f"[red]{len(failed)} check(s) failed[/red]")
        raise typer.Exit(1)
    console.print("[green]all checks passed[/green]")


@app.command()
def run(
    plan: Annotated[
        str,
        typer.Option(help="smoke, full, kiosk-conformance, municipal-server or a YAML path"),
    ] = "full",
    topology: Annotated[
        str | None, typer.Option(help="topology YAML (default: everything emulated)")
    ] = None,
    report_dir: Annotated[Path, typer.Option(help="where the report goes")] = Path(
        "reports/out/latest"
    ),
    expected_failures: Annotated[
        Path | None, typer.Option(help="the vendor's expected failures (YAML)")
    ] = None,
    workers: Annotated[
        int, typer.Option(help="pytest-xdist workers (0: everything in this process)")
    ] = 0,
    keyword: Annotated[
        str | None,
        typer.Option("--keyword", "-k", help="only the plan's scenarios matching (pytest -k)"),
    ] = None,
    ledger: Annotated[
        Path | None, typer.Option(help="plan ledger (default: plan-ledger.jsonl beside the report)")
    ] = None,
    out_of_order: Annotated[
        bool, typer.Option(help="run a later stage before an earlier one passed (marked)")
    ] = False,
) -> None:
    """Run a test plan and write the conformance report; exit 1 on any unexpected failure."""
    from rig.harness.config import TopologyError
    from rig.harness.plans import PlanError
    from rig.harness.runner import run_plan
    from rig.harness.validation.ledger import LedgerError, OrderError

    with _refused_on(PlanError, TopologyError, LedgerError, OrderError):
        outcome = run_plan(
            plan, topology, report_dir, expected_failures=expected_failures, workers=workers,
            extra_args=["-k", keyword] if keyword else None, ledger=ledger,
            out_of_order=out_of_order,
        )  # fmt: skip
    raise typer.Exit(outcome.exit_code)


@app.command()
def report(
    results: Annotated[Path, typer.Argument(help="results.json written by a run")],
    report_dir: Annotated[
        Path | None, typer.Option(help="default: the folder of results.json")
    ] = None,
    expected_failures: Annotated[
        Path | None, typer.Option(help="the vendor's expected failures (YAML)")
    ] = None,
) -> None:
    """Rebuild a report from a run's results (without adding it to the history again)."""
    from reports.builder import ReportError, build_report, now_stamp

    target = report_dir or results.parent
    with _refused_on(ReportError):
        summary = build_report(
            results,
            target,
            expected_failures=expected_failures,
            meta={"finished_at": now_stamp(), "rebuilt": True},
            record_history=False,
        )
    console.print(f"{summary['verdict'].upper()}: report in {target / 'index.html'}", markup=False)


@app.command()
def serve(
    topology: Annotated[str | None, typer.Option(help="topology YAML")] = None,
    endpoints: Annotated[
        Path | None, typer.Option(help="write the endpoints JSON here as well")
    ] = Path("build/serve/endpoints.json"),
    work_dir: Annotated[Path, typer.Option(help="state, PKI and evidence")] = Path("build/serve"),
    card: Annotated[
        list[str] | None, typer.Option(help="insert a card of this profile (repeatable)")
    ] = None,
    with_kiosk: Annotated[
        bool, typer.Option(help="also run the reference kiosk (a demo; off for a vendor kiosk)")
    ] = False,
    factor: Annotated[
        float, typer.Option(help="wall seconds per simulated second (1 = real time)")
    ] = 1.0,
    start: Annotated[
        str | None, typer.Option(help="rig clock start, ISO 8601 with offset (default: now)")
    ] = None,
    unit: Annotated[
        str | None, typer.Option(help="the kiosk unit to serve (a topology with kiosk.units)")
    ] = None,
) -> None:
    """Bring up the emulated world for an external kiosk; print and write its endpoints."""
    from rig.harness.config import TopologyError
    from rig.harness.serve import serve as run_serve

    with _refused_on(TopologyError, ValueError):
        begin = _clock_start(start)
        code = run_serve(
            topology_path=topology,
            endpoints_file=endpoints,
            work_dir=work_dir,
            cards=card or [],
            with_kiosk=with_kiosk,
            factor=factor,
            start=begin,
            unit=unit,
        )
    raise typer.Exit(code)


@app.command("municipal-server")
def municipal_server(
    port: Annotated[int, typer.Option(help="HTTPS port on 127.0.0.1")] = 8443,
    work_dir: Annotated[Path, typer.Option(help="state, TLS files, test data and topology")] = Path(
        "build/municipal-server"
    ),
    seed: Annotated[str, typer.Option(help="registry and key seed")] = "konbini-municipal",
    start: Annotated[
        str | None,
        typer.Option(help="its clock's start, ISO 8601 with offset (default: a weekday 9:00)"),
    ] = None,
    test_mode: Annotated[
        bool,
        typer.Option(
            help="serve the test-mode clock and test registry (docs/municipal-server-testing.md)"
        ),
    ] = True,
) -> None:
    """Run the emulated issuance server stand-alone, as an external one to test with
    `rig run --plan municipal-server --topology WORK_DIR/topology.yaml`."""
    from rig.harness.municipal_standalone import run_standalone

    stop = _stop_on_signals()
    with _refused_on(OSError, ValueError):
        begin = _clock_start(start)
        code = run_standalone(
            work_dir, port=port, seed=seed, start=begin, out=_plain, stop=stop,
            test_mode=test_mode,
        )  # fmt: skip
    raise typer.Exit(code)


@app.command("kiosk-kit")
def kiosk_kit(
    topology: Annotated[str, typer.Option(help="topology YAML with an external kiosk")],
) -> None:
    """Write the kiosk kit (kiosk.json, TLS files) an external kiosk is configured with (one
    per kiosk unit)."""
    from rig.core.pcsc import ReaderStack
    from rig.harness.config import TopologyError, load_topology
    from rig.harness.kiosk_kit import write_kits

    with _refused_on(TopologyError, ValueError, RuntimeError):
        loaded = load_topology(topology)
        if loaded.external_kiosk is None:
            raise TopologyError(f"{topology}: the kiosk is not external; nothing to configure")
        paths = write_kits(loaded, ReaderStack.shared())
    for path in paths:
        console.print(path.read_text(encoding="utf-8").rstrip())
        console.print(f"kiosk kit written: {path}", markup=False)


@app.command()
def kiosk(
    kit: Annotated[Path, typer.Option(help="the kiosk kit folder")] = Path("build/kiosk-kit"),
    port: Annotated[
        int | None, typer.Option(help="robot protocol port (default: the kit's robot_url's)")
    ] = None,
    work_dir: Annotated[Path, typer.Option(help="the kiosk's state and evidence")] = Path(
        "build/kiosk"
    ),
    test_mode: Annotated[
        bool, typer.Option(help="serve the time and config extensions (docs/kiosk-adapter.md)")
    ] = True,
) -> None:
    """Run the reference kiosk stand-alone from a kiosk kit (a stand-in for a vendor kiosk)."""
    from rig.harness.kiosk_standalone import run_kiosk

    stop = _stop_on_signals()
    with _refused_on(OSError, ValueError, RuntimeError):
        code = run_kiosk(
            kit, port=port, work_dir=work_dir, out=_plain, stop=stop, test_mode=test_mode
        )
    raise typer.Exit(code)


@app.command()
def soak(
    transactions: Annotated[int, typer.Option(help="customers over the simulated week")] = 1000,
    days: Annotated[int, typer.Option(help="simulated days")] = 7,
) -> None:
    """A simulated week of mixed traffic through the real pipeline; exit 1 on any discrepancy."""
    from rig.harness.soak import main as soak_main

    raise typer.Exit(soak_main(transactions, days))


app.command()(selftest)  # the defect pack (docs/selftest.md)

card_app = typer.Typer(help="Virtual cards in the rig's readers.", no_args_is_help=True)
app.add_typer(card_app, name="card")
app.add_typer(_validation_cli.package_app, name="package")
app.add_typer(_validation_cli.ledger_app, name="ledger")
app.command("load")(load_command)  # Locust is imported only when a run starts


@card_app.command("insert")
def card_insert(
    profile: Annotated[str, typer.Argument(help="a card profile name (rig card list)")],
    reader_index: Annotated[
        int | None, typer.Option(help="which rig reader (default: the first free one)")
    ] = None,
) -> None:
    """Insert a card into a virtual reader; print its reader and PINs; keep it in until Ctrl-C."""
    from rig.harness.cardcli import insert_card

    raise typer.Exit(insert_card(profile, reader_index))


@card_app.command("list")
def card_list() -> None:
    """The card profiles that `rig card insert` knows."""
    from emulators.card import load_profile, profile_names

    for name in profile_names():
        console.print(f"{name}: {load_profile(name).description}", markup=False)


def _clock_start(start: str | None) -> datetime | None:
    begin = datetime.fromisoformat(start) if start else None
    if begin is not None and begin.tzinfo is None:
        raise ValueError("--start needs a UTC offset, e.g. 2026-11-24T10:00:00+09:00")
    return begin


def _stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM: a stand-alone party runs until then."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def main() -> None:
    app()


if __name__ == "__main__":
    main()

app.add_typer(demand_app, name="demand")

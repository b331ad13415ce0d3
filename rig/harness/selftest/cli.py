"""`rig selftest`: run the defect pack and write the detection matrix (docs/selftest.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from rig.harness.selftest.pack import Defect, DefectPackError, all_defects, find

console = Console()


def selftest(
    defect: Annotated[
        list[str] | None,
        typer.Option("--defect", "-d", help="only this defect (repeatable; default: the pack)"),
    ] = None,
    whole_plan: Annotated[
        bool, typer.Option(help="run each defect against its owner's whole plan (slow)")
    ] = False,
    baseline: Annotated[
        bool, typer.Option(help="run the selection against the reference parties first")
    ] = True,
    workers: Annotated[
        int, typer.Option(help="pytest-xdist workers per plan run (0: one process)")
    ] = 0,
    report_dir: Annotated[Path, typer.Option(help="where the matrix goes")] = Path(
        "reports/out/selftest"
    ),
    list_only: Annotated[bool, typer.Option("--list", help="list the pack and exit")] = False,
) -> None:
    """Run defective kiosk and server variants against their owners' plans; exit 1 if a
    defect is caught by no scenario, 2 on an unknown defect name."""
    from rig.harness.selftest.matrix import HTML_NAME, write_matrix
    from rig.harness.selftest.runner import run_selftest

    try:
        chosen: list[Defect] = [find(n) for n in defect] if defect else list(all_defects())
    except DefectPackError as exc:
        console.print(str(exc), style="red", markup=False)
        raise typer.Exit(2) from exc
    if list_only:
        for d in chosen:
            line = f"{d.name:38} {d.party:9} {d.area:10} {d.stands_for}"
            console.print(line, soft_wrap=True, markup=False)
        return
    outcome = run_selftest(
        chosen, report_dir, whole_plan=whole_plan, baseline=baseline, workers=workers,
        progress=console.print,
    )  # fmt: skip
    data = write_matrix(outcome, report_dir)
    for result in outcome.undetected:
        why = result.run.problem or "no scenario failed"
        console.print(f"[red]NOT CAUGHT[/red] {result.defect.name}: {escape(why)}")
    colour = "green" if outcome.exit_code == 0 else "red"
    console.print(
        f"[{colour}]{data['verdict'].upper()}[/{colour}]: {data['detected']} of "
        f"{data['defects']} defects caught in {data['duration_s']} s; "
        f"matrix: {escape(str(report_dir / HTML_NAME))}"
    )
    raise typer.Exit(outcome.exit_code)

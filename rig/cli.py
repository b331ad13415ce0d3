"""The `rig` command line."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    help="Konbini issuance rig: emulation and conformance test rig for コンビニ交付.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


@app.callback()
def _root() -> None:
    """Konbini issuance rig."""


@app.command()
def doctor() -> None:
    """Check that this machine can run the rig; print what is wrong and how to fix it."""
    from rig.doctor import run_checks

    results = run_checks()
    for r in results:
        mark = "[green]ok[/green]  " if r.ok else "[red]FAIL[/red]"
        console.print(f"{mark} {r.name}: {r.detail}")
        if not r.ok and r.fix:
            console.print(f"       fix: [bold]{r.fix}[/bold]")
    failed = [r for r in results if not r.ok]
    if failed:
        console.print(f"[red]{len(failed)} check(s) failed[/red]")
        raise typer.Exit(1)
    console.print("[green]all checks passed[/green]")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""`rig package create|verify` and `rig ledger show|record` (docs/validation-package.md).

Exit codes: 0 done / intact; 1 refused or not intact (each problem named); 2 bad input of the
caller's own (a missing or malformed key, certificate, trust file or ledger).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

package_app = typer.Typer(
    help="The signed validation package of a finished run.", no_args_is_help=True
)
ledger_app = typer.Typer(
    help="Which staged plans each device passed, in the seed's order (II.5).",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)


def _fail(message: str, code: int) -> typer.Exit:
    console.print(message, style="red", markup=False)
    return typer.Exit(code)


@package_app.command("create")
def create(
    report_dir: Annotated[Path, typer.Argument(help="the report folder of a finished `rig run`")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the archive to write (.tar.gz)")],
    key: Annotated[Path, typer.Option(help="the operator's private key (PEM)")],
    cert: Annotated[Path, typer.Option(help="the operator's certificate for that key (PEM)")],
) -> None:
    """Package a finished run: report, evidence, plan, topology, versions, device identity,
    plan order, a SHA-256 manifest and a signature over it."""
    from rig.harness.validation.package import PackageRefused, create_package

    try:
        manifest = create_package(report_dir, output, key, cert)
    except PackageRefused as exc:
        for problem in exc.problems:
            console.print(f"[red]refused[/red]: {escape(problem)}")
        raise typer.Exit(1) from exc
    except (ValueError, OSError) as exc:  # SigningInputError too: the caller's own input
        raise _fail(str(exc), 2) from exc
    device = manifest.get("device") or {}
    console.print(
        f"package {escape(str(output))}: plan {escape(str(manifest.get('plan')))}, verdict "
        f"{escape(str(manifest.get('verdict')))}, "
        f"device {escape(str(device.get('key')))}, {len(manifest['files'])} files, signed by "
        f"{escape(manifest['signer']['subject'])}"
    )


@package_app.command("verify")
def verify(
    archive: Annotated[Path, typer.Argument(help="a package written by `rig package create`")],
    trust: Annotated[
        list[Path],
        typer.Option(help="a trusted certificate: the signer's own or its CA (PEM; repeatable)"),
    ],
) -> None:
    """Check a package: exit 0 when intact and signed by a trusted signer; otherwise exit 1
    naming each altered, removed or added file and each signature or trust problem."""
    from rig.harness.validation.package import verify_package
    from rig.harness.validation.signing import SigningInputError

    try:
        result = verify_package(archive, trust)
    except SigningInputError as exc:
        raise _fail(str(exc), 2) from exc
    if not result.ok:
        for problem in result.problems:
            console.print(f"[red]FAIL[/red] {escape(problem)}")
        name = escape(str(archive))
        console.print(f"[red]{name}: {len(result.problems)} problem(s); not intact[/red]")
        raise typer.Exit(1)
    manifest = result.manifest or {}
    device = manifest.get("device") or {}
    console.print(
        f"[green]OK[/green] {escape(str(archive))}: {result.files} files intact, signature "
        f"valid, signer {escape(manifest['signer']['subject'])} trusted; plan "
        f"{escape(str(manifest.get('plan')))}, verdict {escape(str(manifest.get('verdict')))}, "
        f"device {escape(str(device.get('key')))}"
    )
    order = manifest.get("order") or {}
    if order.get("stage"):
        where = "OUT OF ORDER" if order.get("out_of_order") else "in order"
        passed = " → ".join(str(p.get("stage")) for p in order.get("passed_in_order") or [])
        console.print(
            f"stage {order['stage']} ({where}); stages passed, in order: {passed or 'none'}",
            markup=False,
        )


@ledger_app.command("show")
def show(
    ledger: Annotated[Path, typer.Option(help="the ledger file")] = Path(
        "reports/out/plan-ledger.jsonl"
    ),
    device: Annotated[str | None, typer.Option(help="only this device key")] = None,
) -> None:
    """List the ledger: when, which device, which stage, the outcome, in order or not."""
    from rig.harness.validation.ledger import Ledger, LedgerError

    try:
        entries = Ledger(ledger).entries(device)
    except LedgerError as exc:
        raise _fail(str(exc), 2) from exc
    if not entries:
        console.print(f"{ledger}: no entries", markup=False)
    for e in entries:
        order = "" if e.in_order else f"  OUT OF ORDER (missing {', '.join(e.missing)})"
        what = e.plan or f"recorded: {e.note}"
        console.print(
            escape(f"{e.at}  {e.device}  {e.stage}  {e.outcome}  {what}{order}"),
            highlight=False,
        )


@ledger_app.command("record")
def record(
    stage: Annotated[
        str, typer.Argument(help="the stage run outside the rig, e.g. centre-connection")
    ],
    device: Annotated[str, typer.Option(help="the device key, as `rig ledger show` prints it")],
    outcome: Annotated[str, typer.Option(help="passed or failed")],
    note: Annotated[str, typer.Option(help="where, when, by whom, which reference")],
    kind: Annotated[
        str | None, typer.Option(help="kiosk or issuance-server, where the stage has both")
    ] = None,
    ledger: Annotated[Path, typer.Option(help="the ledger file")] = Path(
        "reports/out/plan-ledger.jsonl"
    ),
    out_of_order: Annotated[
        bool, typer.Option(help="record it although an earlier stage has not passed (marked)")
    ] = False,
) -> None:
    """Record the result of a stage that took place outside the rig (at J-LIS, at an
    operator's venue, in a store), in the same order rule as `rig run`."""
    from reports.builder import now_stamp
    from rig.harness.stages import StageError, parse_stage
    from rig.harness.validation.ledger import FAILED, PASSED, Entry, Ledger, LedgerError, OrderError

    if outcome not in (PASSED, FAILED):
        raise _fail(f"--outcome must be {PASSED} or {FAILED}, not {outcome!r}", 2)
    if not note.strip():
        raise _fail("--note must say where and when the stage took place", 2)
    try:
        device_kind, found = parse_stage(stage, kind)
        if device.split(":", 1)[0] != device_kind.value:
            raise StageError(
                f"device {device!r} is not a {device_kind.value} (stage {found.value})"
            )
        book = Ledger(ledger)
        missing = book.missing_before(device, device_kind, found)
        if missing and not out_of_order:
            raise OrderError(device, found, missing)
        book.append(
            Entry(
                at=now_stamp(),
                device=device,
                kind=device_kind.value,
                stage=found.value,
                outcome=outcome,
                in_order=not missing,
                missing=[s.value for s in missing],
                note=note,
            )
        )
    except (StageError, LedgerError, OrderError) as exc:
        raise _fail(str(exc), 2) from exc
    console.print(f"recorded: {device} {found.value} {outcome}", markup=False)

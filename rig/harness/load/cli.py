"""`rig load`: a load campaign (docs/load.md).

The profile is read and checked before anything starts (a bad one: exit 2 naming the file,
field and problem); only then is Locust imported (it monkey-patches the process with
gevent), and the world started in a process of its own.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from rig.harness.load.profile import ProfileError, load_profile

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h)?$")


def parse_duration(text: str) -> float:
    """ "90", "90s", "10m", "1.5h" → seconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ProfileError(f"--duration: {text!r} is not a duration (e.g. 90s, 10m, 1h)")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"s": 1, "m": 60, "h": 3600}[unit]


def default_out(worker: bool = False) -> Path:
    """reports/out/load-<time>/ (a worker's: load-<time>-worker-<pid>/, evidence only);
    never a folder another run already uses."""
    # wall time only names the folder; it decides nothing
    stamp = datetime.now().astimezone().strftime("%Y%m%d-%H%M%S")
    base = Path("reports/out") / f"load-{stamp}"
    if worker:
        return base.with_name(f"{base.name}-worker-{os.getpid()}")
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def load(
    profile: Annotated[
        str, typer.Option(help="constant, step, spike, peak-day or a profile YAML file")
    ] = "constant",
    duration: Annotated[
        str | None,
        typer.Option(help="run at most this long (90s, 10m, 1h; default: the profile's)"),
    ] = None,
    max_transactions: Annotated[
        int | None, typer.Option(help="start at most this many transactions (default: profile's)")
    ] = None,
    topology: Annotated[
        str | None, typer.Option(help="topology YAML (default: everything emulated)")
    ] = None,
    server_mode: Annotated[
        bool, typer.Option("--server-mode", help="speak the issuance server's LGWAN API directly")
    ] = False,
    kit: Annotated[
        Path | None, typer.Option(help="use this load kit (folder or kit.json) instead of a world")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="report folder (default reports/out/load-<time>)")
    ] = None,
    master: Annotated[bool, typer.Option("--master", help="run as Locust master")] = False,
    worker: Annotated[bool, typer.Option("--worker", help="run as Locust worker")] = False,
    master_host: Annotated[str, typer.Option(help="the master to join (worker)")] = "127.0.0.1",
    master_port: Annotated[int, typer.Option(help="the master's port")] = 5557,
    master_bind_host: Annotated[
        str, typer.Option(help="address the master listens on (0.0.0.0: other machines)")
    ] = "127.0.0.1",
    expect_workers: Annotated[int, typer.Option(help="workers the master waits for")] = 1,
    start: Annotated[
        str | None, typer.Option(help="rig time the world starts at (ISO 8601, JST)")
    ] = None,
    applicants: Annotated[int, typer.Option(help="test applicants in the kit")] = 300,
    kiosks: Annotated[int, typer.Option(help="kiosk identities in the kit")] = 64,
    separate_municipal: Annotated[
        bool,
        typer.Option(
            "--separate-municipal",
            help="emulated world: the issuance server in a process of its own (more cores)",
        ),
    ] = False,
    swap_documents_every: Annotated[
        int,
        typer.Option(hidden=True, help="TEST DOUBLE: judge a swapped document every N (0: never)"),
    ] = 0,
) -> None:
    """A load campaign: kiosks (or the centre, --server-mode) doing whole transactions at the
    profile's arrival rate, every document judged; report in reports/out/load-<time>/."""
    if master and worker:
        typer.echo("rig load: --master and --worker exclude each other", err=True)
        raise typer.Exit(2)
    try:
        chosen = load_profile(profile).bounded(
            parse_duration(duration) if duration else None, max_transactions
        )
    except ProfileError as exc:
        typer.echo(f"rig load: {exc}", err=True)
        raise typer.Exit(2) from exc
    from rig.harness.load.campaign import CampaignError, CampaignOptions, run_controller, run_worker

    options = CampaignOptions(
        profile=chosen,
        out=out or default_out(worker),
        role="worker" if worker else "master" if master else "local",
        server_mode=server_mode,
        kit=kit,
        topology=topology,
        start=start,
        applicants=applicants,
        kiosks=kiosks,
        master_host=master_host,
        master_port=master_port,
        master_bind_host=master_bind_host,
        expect_workers=expect_workers,
        swap_every=swap_documents_every,
        separate_municipal=separate_municipal,
        profile_name=profile,
    )
    try:
        code = run_worker(options) if worker else run_controller(options)
    except CampaignError as exc:
        typer.echo(f"rig load: {exc}", err=True)
        raise typer.Exit(3) from exc
    if not worker:
        typer.echo(f"rig load: report in {options.out}/index.html")
    raise typer.Exit(code)

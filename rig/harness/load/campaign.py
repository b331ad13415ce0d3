"""A load campaign on Locust's runtime: local, master or worker.

`rig load` (local) and `rig load --master` start the world in its own process
(rig.harness.load.world_process) unless given a kit, drive the arrival rate with a `LoadTestShape`
built from the profile, merge every process's judge counts, and write the report. A worker
(`rig load --worker --master-host H`) needs nothing else: the master sends it the kit and its
share of the plan (custom message `rig_plan`); it reports its counts with every Locust report
(`report_to_master`) and once more when it stops (`rig_final`).

Importing this module monkey-patches the process with gevent (Locust does so on import).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
from locust import LoadTestShape, User
from locust.env import Environment
from locust.log import setup_logging
from locust.runners import MasterRunner, Runner, WorkerRunner
from locust.stats import PERCENTILES_TO_REPORT, StatsCSVFileWriter

from rig.harness.load import users
from rig.harness.load.cpu import CpuMeter
from rig.harness.load.kit import KIT_FILE, LoadKit
from rig.harness.load.profile import LoadProfile
from rig.harness.load.report import Sampler, write_report
from rig.harness.load.tally import Totals

WORLD_READY_TIMEOUT_S = 900.0
WORKERS_TIMEOUT_S = 120.0
FINALS_TIMEOUT_S = 60.0
#: applicants beyond a rounds profile's sessions (workers split the applicants)
ROUNDS_SPARE_APPLICANTS = 16
#: how long users may take to finish the transaction they are in once the run stops
STOP_TIMEOUT_S = 30.0


class CampaignError(RuntimeError):
    """The campaign could not start (world, workers); the message says what happened."""


@dataclass
class CampaignOptions:
    profile: LoadProfile
    out: Path
    role: str = "local"  # local | master | worker
    server_mode: bool = False
    kit: Path | None = None
    topology: str | None = None
    start: str | None = None
    applicants: int = 300
    kiosks: int = 64
    master_host: str = "127.0.0.1"
    master_port: int = 5557
    master_bind_host: str = "127.0.0.1"
    expect_workers: int = 1
    swap_every: int = 0
    #: the emulated issuance server in a process of its own (the world uses two cores)
    separate_municipal: bool = False
    profile_name: str = ""


def make_shape(profile: LoadProfile, totals: Totals) -> LoadTestShape:
    class ProfileShape(LoadTestShape):
        """The profile's arrival rate as kiosk users; stops at the duration or the cap."""

        def tick(self) -> tuple[int, float] | None:
            t = self.get_run_time()
            if t >= profile.duration_s:
                return None
            rounds = profile.rounds
            if rounds is not None:
                # every session released at once; the run ends when the last round has
                # (not when the last one starts: its sessions must be let finish)
                planned = min(profile.max_transactions, rounds.sessions * rounds.rounds)
                if totals.finished() >= planned:
                    return None
                return rounds.sessions, float(rounds.sessions)
            if totals.counts["started"] >= profile.max_transactions:
                return None
            users_now = profile.users_at(t)
            return users_now, max(1.0, users_now / profile.pacing_s)

    return ProfileShape()


class WorldProcess:
    """The world process: started here, stopped here."""

    def __init__(self, options: CampaignOptions):
        self.folder = options.out / "world"
        self.folder.mkdir(parents=True, exist_ok=True)
        applicants, kiosks = options.applicants, options.kiosks
        rounds = options.profile.rounds
        if rounds is not None:
            # one applicant and one kiosk per session released together (plus a few
            # more, so that each worker's share of the applicants still covers its users)
            applicants = max(applicants, rounds.sessions + ROUNDS_SPARE_APPLICANTS)
            kiosks = max(kiosks, rounds.sessions)
        args = [
            sys.executable, "-m", "rig.harness.load.world_process", "--folder", str(self.folder),
            "--applicants", str(applicants), "--kiosks", str(kiosks),
            "--watch-parent",
        ]  # fmt: skip
        if options.topology:
            args += ["--topology", options.topology]
        elif options.separate_municipal:
            args += ["--separate-municipal"]
        start = options.start or (
            options.profile.clock_start.isoformat() if options.profile.clock_start else None
        )
        if start:
            args += ["--start", start]
        self.log = (options.out / "world.log").open("w")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GEVENT")}
        self.proc = subprocess.Popen(
            args, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )

    def wait_kit(self) -> LoadKit:
        deadline = time.monotonic() + WORLD_READY_TIMEOUT_S
        kit = self.folder / KIT_FILE
        while not kit.exists():
            if self.proc.poll() is not None:
                raise CampaignError(
                    f"the world process ended ({self.proc.returncode}); see world.log"
                )
            if time.monotonic() > deadline:
                raise CampaignError("the world did not come up in time; see world.log")
            gevent.sleep(0.2)
        return LoadKit.read(kit)

    def stop(self) -> dict[str, Any]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()
        end = self.folder / "world-end.json"
        return json.loads(end.read_text()) if end.exists() else {}


def _logging() -> None:
    setup_logging("INFO")
    # one line per HTTP request would cost more than the judge: keep Locust's own lines only
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def set_pacing(profile: LoadProfile) -> None:
    """A rounds profile's users wait at their barrier, not for a pacing."""
    users.pacing(0.0 if profile.rounds is not None else profile.pacing_s)


def check_applicants(kit: LoadKit, profile: LoadProfile) -> None:
    """Sessions released together are for distinct applicants: enough of them, or no run."""
    rounds = profile.rounds
    if rounds is None:
        return
    distinct = len({a.resident_id for a in kit.applicants})
    residents = sum(1 for a in kit.applicants if a.resident)
    if residents < rounds.sessions:
        raise CampaignError(
            f"{rounds.sessions} sessions released together need as many distinct applicants; "
            f"the kit has {residents} residents ({distinct} applicants in all)"
        )


def _user_class(server_mode: bool) -> type[User]:
    return users.ServerUser if server_mode else users.KioskUser


def run_worker(options: CampaignOptions) -> int:
    """A worker: waits for the master's plan, runs its users, reports, exits on quit."""
    _logging()
    env = Environment(user_classes=[_user_class(options.server_mode)], stop_timeout=STOP_TIMEOUT_S)
    runner = env.create_worker_runner(options.master_host, options.master_port)
    assert isinstance(runner, WorkerRunner)

    def on_plan(environment: Environment, msg: Any, **_: Any) -> None:
        data = msg.data
        kit = LoadKit.model_validate(data["kit"])
        profile = LoadProfile.model_validate(data["profile"])
        index = int(data["index"])
        set_pacing(profile)
        campaign = users.make_campaign(
            kit, profile, options.out / "evidence" / f"worker-{index}",
            cap=int(data["cap"]), swap_every=int(data.get("swap_every", 0)),
        )  # fmt: skip
        campaign.partition(index, int(data["count"]))
        users.CAMPAIGN = campaign

    def on_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
        if users.CAMPAIGN is not None:
            data["rig_tally"] = users.CAMPAIGN.tally.take()

    def on_stop(environment: Environment, **_: Any) -> None:
        if users.CAMPAIGN is not None:
            runner.send_message("rig_final", {"tally": users.CAMPAIGN.tally.take()})
            # one campaign per worker process: once its final counts are out it leaves
            # (Locust's own "stop" handling would keep it waiting stop_timeout for a next run)
            gevent.spawn_later(0.5, runner.quit)

    runner.register_message("rig_plan", on_plan)
    env.events.report_to_master.add_listener(on_report)
    env.events.test_stop.add_listener(on_stop)
    _stop_on_signals(lambda: runner.quit())
    runner.greenlet.join()
    if users.CAMPAIGN is not None:
        users.CAMPAIGN.files.close()
    return 0


def _stop_on_signals(stop: Any) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(sig, stop)


def run_controller(options: CampaignOptions) -> int:
    """Local or master: world, shape, merge, report; the exit status of the run."""
    options.out.mkdir(parents=True, exist_ok=True)
    _logging()
    profile = options.profile
    world: WorldProcess | None = None
    interrupted = {"flag": False}
    world_end: dict[str, Any] = {}
    started_wall = time.monotonic()
    try:
        if options.kit is not None:
            kit = LoadKit.read(options.kit)
        else:
            world = WorldProcess(options)
            kit = world.wait_kit()
        if options.server_mode and kit.lgwan is None:
            raise CampaignError("server mode needs the issuance server's LGWAN access in the kit")
        check_applicants(kit, profile)
        totals = Totals()
        master = options.role == "master"
        env = Environment(
            user_classes=[_user_class(options.server_mode)],
            shape_class=make_shape(profile, totals),
            stop_timeout=STOP_TIMEOUT_S,
            host=kit.centre_url,
        )
        set_pacing(profile)
        runner: Runner
        finals: set[str] = set()
        if master:
            runner = env.create_master_runner(options.master_bind_host, options.master_port)
            assert isinstance(runner, MasterRunner)
            master_runner = runner

            def on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
                if "rig_tally" in data:
                    totals.merge(data["rig_tally"], client_id)

            def on_final(environment: Environment, msg: Any, **_: Any) -> None:
                totals.merge(msg.data["tally"], msg.node_id)
                finals.add(msg.node_id)

            def on_start(environment: Environment, **_: Any) -> None:
                clients = sorted(c.id for c in master_runner.clients.values())
                base, extra = divmod(profile.max_transactions, max(1, len(clients)))
                for index, client_id in enumerate(clients):
                    plan = {
                        "kit": kit.model_dump(mode="json"),
                        "profile": profile.model_dump(mode="json"),
                        "index": index,
                        "count": len(clients),
                        "cap": base + (1 if index < extra else 0),
                        "swap_every": options.swap_every,
                    }
                    master_runner.send_message("rig_plan", plan, client_id=client_id)

            env.events.worker_report.add_listener(on_worker_report)
            env.events.test_start.add_listener(on_start)
            runner.register_message("rig_final", on_final)
            deadline = time.monotonic() + WORKERS_TIMEOUT_S
            while len(master_runner.clients.ready) < options.expect_workers:
                if time.monotonic() > deadline:
                    raise CampaignError(
                        f"{len(master_runner.clients.ready)} of {options.expect_workers} "
                        "workers connected in time"
                    )
                gevent.sleep(0.2)
        else:
            runner = env.create_local_runner()
            campaign = users.make_campaign(
                kit, profile, options.out / "evidence" / "local",
                cap=profile.max_transactions, swap_every=options.swap_every,
            )  # fmt: skip
            users.CAMPAIGN = campaign
        csv_writer = StatsCSVFileWriter(
            env, PERCENTILES_TO_REPORT, str(options.out / "locust"), full_history=True
        )
        csv_greenlet = gevent.spawn(csv_writer.stats_writer)
        sampler = Sampler(env.stats, interval=3.0 if master else 1.0)

        def merge_local() -> None:
            if users.CAMPAIGN is not None and not master:
                totals.merge(users.CAMPAIGN.tally.take(), "local")

        def sample_loop() -> None:
            while True:
                merge_local()
                sampler.sample(totals)
                gevent.sleep(sampler.interval)

        sample_greenlet = gevent.spawn(sample_loop)

        def interrupt() -> None:
            interrupted["flag"] = True
            runner.stop()

        _stop_on_signals(interrupt)
        meter = CpuMeter(world.proc.pid if world is not None else None)
        runner.start_shape()
        hard_stop = time.monotonic() + profile.duration_s + STOP_TIMEOUT_S + 30
        while runner.shape_greenlet is not None and time.monotonic() < hard_stop:
            gevent.sleep(0.2)
            if interrupted["flag"]:
                break
        if runner.state not in ("stopped", "ready"):
            runner.stop()
        if master:
            expected = {c.id for c in master_runner.clients.values()}
            deadline = time.monotonic() + FINALS_TIMEOUT_S
            while not expected <= finals and time.monotonic() < deadline:
                gevent.sleep(0.2)
        merge_local()
        meter.stop()
        sampler.sample(totals)
        sample_greenlet.kill()
        runner.quit()
        csv_greenlet.kill()
        csv_writer.close_files()
        if world is not None:
            world_end = world.stop()
            world = None
        result = {
            "profile": profile.model_dump(mode="json"),
            "profile_name": options.profile_name,
            "role": options.role,
            "mode": "server" if options.server_mode else "centre",
            "target": kit.target,
            "interrupted": interrupted["flag"],
            "workers": len(finals) if master else 0,
            "elapsed_s": time.monotonic() - started_wall,
            "world_end": world_end,
            "cpu": meter.figures(
                totals.counts["completed"] + totals.counts["failed"],
                totals.counts["judge_cpu_us"],
            ),
        }
        return write_report(options.out, result, totals, env.stats, sampler)
    finally:
        if world is not None:
            world.stop()
        if users.CAMPAIGN is not None:
            users.CAMPAIGN.files.close()

"""The world a load campaign runs against, in a process of its own.

Locust monkey-patches the standard library with gevent; the emulated parties (threads,
blocking sockets, SQLite) must not run under that patching, so `rig load` starts this module
as a separate, ordinary Python process (`python -m rig.harness.load.world_process`). It builds the
world of the topology (everything emulated, or the rig's centre in front of an external
issuance server), sets up the test applicants, writes the load kit (kit.json), prints
"running" and serves until SIGTERM/SIGINT, then writes `world-end.json` (what the centre
holds at the end: issuance records, documents not yet collected, sessions still open).
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import simpy.rt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from emulators.municipal.config import MunicipalityConfig, RegistrySize, load_municipalities
from emulators.municipal.registry import Registry
from rig.core.clock import JST, ClockDriver, RigClock
from rig.core.pki.mint import AuthCertMint
from rig.harness.config import load_topology
from rig.harness.load.kit import Applicant, CardApCard, KioskIdentity, LgwanAccess, LoadKit
from rig.harness.world import CITY, KOSEKI_TOWN, SMALL_TOWN, World, WorldOptions

#: a weekday morning inside every test municipality's hours (2026-11-24 is a Tuesday)
DEFAULT_START = datetime(2026, 11, 24, 10, 0, tzinfo=JST)
OPERATOR = "konbini-a"
CARD_AP_PIN = "2468"
#: traits whose residents can get the certificate types of the load mixes
TRAITS = (
    "every_type",
    "seal_registered",
    "tax_record",
    "eligible",
    *(f"household_of_{n}" for n in range(1, 9)),
)


def _der_b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


#: distinct applicants the bundled registry yields in the load world's municipalities
#: (one per household first, then the other eligible members): about 400
APPLICANTS_PER_REGISTRY = 380


def registry_factor(applicants: int) -> int:
    """How many times the bundled households the load world needs for `applicants`."""
    return max(1, math.ceil(applicants / APPLICANTS_PER_REGISTRY))


def widened_municipalities(factor: int) -> list[MunicipalityConfig] | None:
    """The bundled municipalities with `factor` times their households (None: as bundled),
    so that many sessions at once are for as many distinct people. The registry cache key
    covers the households, so a widened registry is a cache file of its own."""
    if factor <= 1:
        return None
    return [
        c.model_copy(
            update={
                "registry": RegistrySize(
                    households=min(MAX_HOUSEHOLDS, c.registry.households * factor)
                )
            }
        )
        for c in load_municipalities()
    ]


MAX_HOUSEHOLDS = 5000


def _candidates(registry: Registry, code: str, taken: set[str]) -> list[str]:
    """The residents of `code` who may be issued the load mixes' types, distinct people:
    one per household first (the judge's stranger-name check is sharpest across
    households), then the other eligible members of those households."""
    households: set[str] = set()
    household_of: dict[str, str] = {}
    first: list[str] = []
    for trait in TRAITS:
        for rid in registry.find_residents(code, trait):
            if rid not in household_of:
                household_of[rid] = registry.resident(rid).household_id or rid
            household = household_of[rid]
            if rid in taken or household in households:
                continue
            households.add(household)
            first.append(rid)
    chosen = set(first)
    rest = [r for r in registry.find_residents(code, "eligible") if r not in chosen | taken]
    return first + rest


def emulated_applicants(
    world: World, mint: AuthCertMint, count: int
) -> tuple[list[Applicant], list[str]]:
    """Up to `count` distinct residents, each with a JPKI certificate and a card-AP card
    registered, spread over the three test municipalities; and the non-residents whose
    本籍 is in another of them (JPKI). Nobody is both: two sessions at once are never the
    same person."""
    from emulators.municipal.card_ap import card_key

    registry = world.municipal.registry
    codes = (CITY, SMALL_TOWN, KOSEKI_TOWN)
    per_code = max(1, count // len(codes) + 1)
    applicants: list[Applicant] = []
    certs: list[str] = []

    def jpki(rid: str, code: str) -> dict[str, Any]:
        """A JPKI certificate minted for `rid`, applying to `code` (the registry and the
        centre know it): the applicant's `jpki` and `jpki_serial_hex`."""
        cert = mint.mint()
        registry.register_jpki_user(cert.serial_number, rid)
        world.centre.register_jpki_holder(cert.serial_number, code)
        certs.append(_der_b64(cert))
        return {"jpki": len(certs) - 1, "jpki_serial_hex": f"{cert.serial_number:x}"}

    # non-residents: 本籍 in another rig municipality, kiosk use registered there; they
    # apply to that municipality (戸籍, 附票) with JPKI
    taken: set[str] = set()
    for code in codes:
        for rid in registry.find_residents(code, "honseki_elsewhere_registered")[:per_code]:
            honseki = registry.resident(rid).honseki_code
            if honseki is None or honseki not in codes:
                continue
            taken.add(rid)
            applicants.append(
                Applicant(resident_id=rid, code=honseki, resident=False, **jpki(rid, honseki))
            )
    # interleave municipalities so a small run still touches all three
    by_code = [[(code, rid) for rid in _candidates(registry, code, taken)] for code in codes]
    mixed = [p for group in itertools.zip_longest(*by_code) for p in group if p is not None]
    residents: list[Applicant] = []
    for n, (code, rid) in enumerate(mixed[:count]):
        certificate = jpki(rid, code)
        info = registry.register_card_ap_user(f"LOAD{code}{n:06d}", rid, CARD_AP_PIN)
        residents.append(
            Applicant(
                resident_id=rid,
                code=code,
                **certificate,
                card_ap=CardApCard(
                    user_id=info.user_id,
                    key_hex=card_key(world.options.seed, info).hex(),
                    pin=CARD_AP_PIN,
                    card_kind=info.card_kind,
                    key_version=info.key_version,
                ),
            )
        )
    return residents + applicants, certs


def external_applicants(world: World, mint: AuthCertMint) -> tuple[list[Applicant], list[str]]:
    """The servable residents an external server's test data names, with its serials and
    cards (the rig issues each named serial from its test JPKI, as `World.issue_card`)."""
    data = world.test_data
    assert data is not None
    applicants: list[Applicant] = []
    certs: list[str] = []
    for municipality in data.municipalities:
        cards = {u.resident: u for u in municipality.card_ap_users}
        # only residents the test data lists with a trait that may be served (its refusal
        # cases, e.g. under_15 or deceased, are scenario material, not load)
        servable = {r for t in TRAITS for r in municipality.residents.get(t, [])}
        for rid in sorted((set(municipality.jpki_users) | set(cards)) & servable):
            jpki: int | None = None
            serial_hex: str | None = None
            if rid in municipality.jpki_users:
                serial = municipality.jpki_serial(rid)
                cert = mint.mint(serial)
                world.centre.register_jpki_holder(serial, municipality.code)
                certs.append(_der_b64(cert))
                jpki, serial_hex = len(certs) - 1, f"{serial:x}"
            card = cards.get(rid)
            applicants.append(
                Applicant(
                    resident_id=rid,
                    code=municipality.code,
                    jpki=jpki,
                    jpki_serial_hex=serial_hex,
                    card_ap=None
                    if card is None
                    else CardApCard(
                        user_id=card.user_id,
                        key_hex=card.key,
                        pin=card.pin,
                        card_kind=card.card_kind,
                        key_version=card.key_version,
                    ),
                )
            )
    return applicants, certs


def build_kit(world: World, clock: RigClock, *, applicants: int, kiosks: int) -> LoadKit:
    mint = AuthCertMint(world.authority, first_serial=0x10AD_0000_0001, label="LOAD")
    if world.test_data is None:
        people, certs = emulated_applicants(world, mint, applicants)
    else:
        people, certs = external_applicants(world, mint)
    identities = []
    for n in range(1, kiosks + 1):
        kiosk_id = f"kiosk-{n:04d}"
        pair = world.tls.kiosk_client(kiosk_id)
        identities.append(
            KioskIdentity(
                kiosk_id=kiosk_id,
                store_id=f"store-{n:04d}",
                operator_id=OPERATOR,
                cert_pem=pair.cert.read_text(),
                key_pem=pair.key.read_text(),
            )
        )
    lgwan_pair = world.lgwan_client_cert()
    return LoadKit(
        target="emulated" if world.test_data is None else "external-municipal",
        centre_url=world.endpoints["center_url"],
        centre_ca_pem=Path(world.tls.server_ca).read_text(),
        kiosks=identities,
        jpki_key_pem=mint.key_pem(),
        jpki_certs_der_b64=certs,
        applicants=people,
        lgwan=LgwanAccess(
            base_url=world.endpoints["municipal_base_url"].rstrip("/"),
            ca_pem=Path(world.lgwan_ca()).read_text(),
            client_cert_pem=lgwan_pair.cert.read_text(),
            client_key_pem=lgwan_pair.key.read_text(),
        ),
        clock_start=clock.now().isoformat(),
    )


def serve_world(
    folder: Path,
    *,
    topology: str | None,
    start: datetime,
    factor: float,
    applicants: int,
    kiosks: int,
    stop: threading.Event,
) -> int:
    clock = RigClock(start, realtime_factor=factor)
    options = WorldOptions(
        with_kiosk=False,
        with_verification_site=False,
        marks="layout",
        topology=load_topology(topology),
        registry_cache=Path("build/registry-cache").resolve(),
        # under load the centre waits longer for its parties than a single scenario does
        centre_overrides={"municipal_timeout": 60.0, "ocsp_timeout": 60.0},
        municipalities=(
            widened_municipalities(registry_factor(applicants)) if topology is None else None
        ),
    )
    began = time.perf_counter()
    world = World.build(folder / "world", clock, None, slot=None, options=options)
    built = time.perf_counter()
    driver = ClockDriver(clock)
    try:
        kit = build_kit(world, clock, applicants=applicants, kiosks=kiosks)
        print(
            f"rig load world: world built in {built - began:.1f} s, "
            f"kit in {time.perf_counter() - built:.1f} s",
            flush=True,
        )
        # rig time stands still while the world is set up: a run asked to start at 22:59
        # starts at 22:59, however long the registry and the applicants took
        cast(simpy.rt.RealtimeEnvironment, clock.env).sync()
        driver.start()
        path = kit.write(folder)
        print(f"rig load world: kit {path} ({len(kit.applicants)} applicants); running", flush=True)
        stop.wait()
        end = {
            "centre_records": world.centre.records.count(),
            "held_documents": world.centre.held_documents(),
            "open_sessions": world.centre.open_sessions(),
            "rig_time": clock.now().isoformat(),
        }
        (folder / "world-end.json").write_text(json.dumps(end, indent=2), encoding="utf-8")
    finally:
        driver.stop()
        world.stop()
    return 0


#: how long the separate issuance-server process may take to come up
MUNICIPAL_READY_S = 300.0


def _die_with_parent() -> None:
    """In the child: SIGTERM when the world process ends, however it ends (Linux)."""
    import ctypes

    pr_set_pdeathsig = 1
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@contextmanager
def separate_municipal(folder: Path, start: datetime) -> Iterator[str]:
    """The emulated issuance server in a process of its own (`rig municipal-server` on an
    ephemeral loopback port), so that it and the centre do not share one interpreter's
    lock; yields the topology file that puts the centre in front of it.

    It keeps its own real-time clock from `start`: it runs ahead of the world's by the
    world's set-up time (seconds), which a run near a closing hour should keep in mind.
    """
    work = folder / "municipal-server"
    topology = work / "topology.yaml"
    log = (folder / "municipal-server.log").open("w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEVENT")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rig.harness.cli", "municipal-server", "--port", "0",
         "--work-dir", str(work), "--start", start.isoformat(), "--no-test-mode"],
        stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + MUNICIPAL_READY_S
        while "running" not in (folder / "municipal-server.log").read_text(errors="replace"):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the issuance server process ended ({proc.returncode}); "
                    "see municipal-server.log"
                )
            if time.monotonic() > deadline:
                raise RuntimeError("the issuance server process did not come up in time")
            time.sleep(0.2)
        yield str(topology)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def _watch_parent(parent: int, stop: threading.Event) -> None:
    """A `rig load` killed outright leaves no world behind: its child notices and stops."""
    while not stop.wait(1.0):
        if os.getppid() != parent:
            stop.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rig.harness.load.world_process")
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--topology", default=None)
    parser.add_argument("--start", default=None, help="rig time to start at (ISO 8601, JST)")
    parser.add_argument("--factor", type=float, default=1.0)
    parser.add_argument("--applicants", type=int, default=300)
    parser.add_argument("--kiosks", type=int, default=64)
    parser.add_argument(
        "--separate-municipal",
        action="store_true",
        help="run the emulated issuance server in a process of its own",
    )
    parser.add_argument(
        "--watch-parent", action="store_true", help="stop when the process that started it ends"
    )
    args = parser.parse_args(argv)
    start = DEFAULT_START
    if args.start:
        start = datetime.fromisoformat(args.start)
        if start.tzinfo is None:
            start = start.replace(tzinfo=JST)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.watch_parent:
        threading.Thread(target=_watch_parent, args=(os.getppid(), stop), daemon=True).start()
    with ExitStack() as stack:
        topology = args.topology
        if args.separate_municipal and topology is None:
            topology = stack.enter_context(separate_municipal(args.folder, start))
        return serve_world(
            args.folder,
            topology=topology,
            start=start,
            factor=args.factor,
            applicants=args.applicants,
            kiosks=args.kiosks,
            stop=stop,
        )


if __name__ == "__main__":
    sys.exit(main())

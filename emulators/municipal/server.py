"""The municipal issuance server process: registry + service + HTTPS transport.

    server = MunicipalServer(clock, evidence, state_dir, municipalities, tls_material)
    server.registry.register_jpki_user(serial, server.registry.find_resident("991015"))
    urls = server.start()
    # {"base": "https://127.0.0.1:PORT/v1", "991015": ".../v1/municipalities/991015", ...}
    ...
    server.stop()

The registry is generated once per (seed, reference date, municipality files) and cached in
`cache_dir` (default: `state_dir`); each server works on its own copy in `state_dir`.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from emulators.municipal.api import PREFIX, build_routes
from emulators.municipal.config import MunicipalityConfig, load_municipalities
from emulators.municipal.faults import MunicipalFaults
from emulators.municipal.generator import copy_registry, ensure_registry
from emulators.municipal.registry import Registry
from emulators.municipal.service import IssuanceService
from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.https import JsonHttpsServer
from rig.core.party import PartyHealth, served_health
from rig.core.pki.tls import TlsMaterial

DEFAULT_SEED = "konbini-rig"
_instances = itertools.count(1)


class MunicipalServer:
    """The emulated 証明発行サーバ for one or more municipalities on one HTTPS port.

    `service_class` is what a variant (the selftest's defect pack, emulators/municipal/defects)
    replaces by subclassing; the reference server carries no defect of its own.
    """

    service_class: type[IssuanceService] = IssuanceService

    def __init__(
        self,
        clock: RigClock,
        evidence: EvidenceStore | None,
        state_dir: Path,
        municipalities: list[MunicipalityConfig] | list[Path] | None,
        tls_material: TlsMaterial,
        port: int = 0,
        *,
        seed: str = DEFAULT_SEED,
        cache_dir: Path | None = None,
        max_body: int = 64 * 1024,
    ):
        self.clock = clock
        self.evidence = evidence
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if municipalities is None:
            self.configs = load_municipalities()
        elif all(isinstance(m, MunicipalityConfig) for m in municipalities):
            self.configs = sorted(
                (m for m in municipalities if isinstance(m, MunicipalityConfig)),
                key=lambda c: c.code,
            )
        else:
            self.configs = load_municipalities([Path(str(m)) for m in municipalities])
        self.tls = tls_material
        self.port = port
        self.seed = seed
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.state_dir
        self.faults = MunicipalFaults()
        self.reference_date = clock.now().date()
        cached = ensure_registry(self.cache_dir, seed, self.reference_date, self.configs)
        working = self.state_dir / f"municipal-registry-{os.getpid()}-{next(_instances)}.sqlite"
        copy_registry(cached, working)
        self.registry = Registry(working, today=lambda: self.clock.now().date())
        self.service = self.service_class(
            self.registry, self.configs, clock, evidence, world_seed=seed
        )
        self.http = JsonHttpsServer(
            certificate=tls_material.server("municipal"),
            client_cas=[tls_material.lgpki_ca],
            routes=build_routes(self.service, self.faults),
            port=port,
            max_body=max_body,
            name="municipal-http",
            evidence=evidence,
        )

    def start(self) -> dict[str, str]:
        """Start serving; returns the base URL and one URL per municipality code."""
        root = self.http.start()
        by_code = {c.code: f"{root}{PREFIX}/municipalities/{c.code}" for c in self.configs}
        return {"base": root + PREFIX, **by_code}

    def stop(self) -> None:
        self.http.stop()
        self.registry.close()

    def health(self) -> PartyHealth:
        return served_health(self.http.server)

    def route_table(self) -> list[tuple[str, str]]:
        return self.http.route_table()

    def __enter__(self) -> MunicipalServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

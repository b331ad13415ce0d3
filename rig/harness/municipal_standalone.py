"""`rig municipal-server`: the emulated issuance server on its own, as an external one.

It listens on a fixed port with its own real-time rig clock (a fixed start, so its service
hours do not depend on when it runs), registers test cards for its residents and writes
what an external server's operator would hand over (docs/municipal-server-testing.md):

- the test-data file (residents by trait, registered JPKI serials, card-AP test cards);
- the TLS files: the CA its server certificate chains to, and the LGPKI-style client
  certificate the rig's centre presents (the only client CA it accepts);
- a topology file marking the issuance server `external` at its URL, ready for
  `rig run --plan municipal-server --topology FILE`.

The rig then tests it over the network exactly as it would a municipality's server.
With `test_mode` (the default) it also serves the optional test-mode clock
(emulators/municipal/test_clock.py) and test-registry route (emulators/municipal/
test_registry.py) and declares them in the test-data file, so the hours, closure and
maintenance scenarios and those that read or change a test resident apply to it too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from emulators.municipal import MunicipalServer
from emulators.municipal.api import PREFIX
from emulators.municipal.test_clock import TEST_CLOCK_PATH, HoldableClock, clock_routes
from emulators.municipal.test_data import export_test_data
from emulators.municipal.test_registry import TEST_REGISTRY_PATH, registry_routes
from rig.core.clock import JST, ClockDriver
from rig.core.evidence import EvidenceStore
from rig.core.pki.tls import TlsMaterial

#: a weekday morning, inside every test municipality's hours (2026-11-24 is a Tuesday)
DEFAULT_START = datetime(2026, 11, 24, 9, 0, tzinfo=JST)
#: test residents the test-data file names per trait
PER_TRAIT = 4


def run_standalone(
    folder: Path,
    *,
    port: int,
    seed: str,
    start: datetime | None,
    out: Callable[[str], None],
    stop: threading.Event,
    test_mode: bool = True,
) -> int:
    """Serve on `port` with the hand-over files in `folder` until `stop` is set."""
    folder = Path(folder)
    clock = HoldableClock(start or DEFAULT_START, realtime_factor=1.0)
    evidence = EvidenceStore(folder / "evidence", now=clock.now)
    tls = TlsMaterial(folder / "tls", seed)
    server = MunicipalServer(clock, evidence, folder / "state", None, tls, port, seed=seed)
    driver = ClockDriver(clock)
    if test_mode:
        for method, handler in clock_routes(clock, evidence).items():
            server.http.add_route(method, PREFIX + TEST_CLOCK_PATH, handler)
        routes = registry_routes(server.registry, evidence)
        for method, handler in routes.items():
            server.http.add_route(method, PREFIX + TEST_REGISTRY_PATH, handler)
    url = server.start()["base"]
    driver.start()
    try:
        info = _hand_over(folder, server, tls, url, test_mode)
        info["clock_start"] = clock.now().isoformat()
        out(yaml.safe_dump(info, allow_unicode=True, sort_keys=False).rstrip())
        out("rig municipal-server: running; Ctrl-C to stop")
        stop.wait()
        out("rig municipal-server: stopping")
    finally:
        driver.stop()
        server.stop()
    return 0


def _hand_over(
    folder: Path, server: MunicipalServer, tls: TlsMaterial, url: str, test_mode: bool
) -> dict[str, Any]:
    """Write the test-data file and the topology an external server's operator hands over."""
    data = export_test_data(server, PER_TRAIT)
    if test_mode:
        data = data.model_copy(
            update={"test_clock": TEST_CLOCK_PATH, "test_registry": TEST_REGISTRY_PATH}
        )
    test_data = folder / "municipal-test-data.yaml"
    data.write(test_data)
    client = tls.lgpki_client("issuance-centre")
    topology = folder / "topology.yaml"
    document = {
        "name": "standalone-municipal",
        "description": "the rig's emulated issuance server, run stand-alone as an external one",
        "municipal": {
            "mode": "external",
            "url": url,
            "test_data": test_data.name,
            "tls": {
                "ca_bundle": str(Path(tls.server_ca).resolve()),
                "client_cert": str(Path(client.cert).resolve()),
                "client_key": str(Path(client.key).resolve()),
            },
        },
    }
    topology.write_text(
        yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return {
        "url": url,
        "municipalities": data.codes,
        "test_data": str(test_data.resolve()),
        "topology": str(topology.resolve()),
    }

"""Which scenarios apply to the devices under test of a topology, and why the others do not.

Against an external kiosk or issuance server, a scenario that needs something of the emulated
party is reported skipped, "not applicable", with the reason; it is never counted as passed:

- `reference_kiosk`: looks into the reference kiosk otherwise than by a route: never applies;
- `kiosk_inspect(*parts)`: reads the kiosk's event log (`events`) or storage (`storage`):
  applies when its `/info` declares those extensions (rig/harness/kiosk_inspect.py);
- `kiosk_config(*needs)` (or `world(kiosk_overrides=...)`): reconfigures or restarts the
  kiosk: applies when its `/info` declares the configuration extension with every one of
  `needs`;
- `emulated_municipal`: looks into or changes the emulated server's registry: never applies;
- `municipal_clock`: moves the issuance server's calendar: applies when the server's test
  data declares `test_clock`;
- `municipal_registry`: reads a test resident's hidden facts or changes the registry
  (rig/harness/municipal_registry.py): applies when the server's test data declares `test_registry`.

`needs` are configuration-extension settings (`centre_url`, `trust_anchor`) and restart parts
(`application`, `card_reader`, `cash_unit`, `printer`); docs/kiosk-adapter.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

import httpx
import pytest
from pydantic import ValidationError

from rig.core.municipal_test_data import MunicipalDataError, load_test_data
from rig.core.protocols.robot import ConfigExtension, KioskExtensions, KioskInfo
from rig.harness.config import Topology
from rig.harness.kiosk_inspect import missing as missing_parts
from rig.harness.kiosk_reconfigure import needs as override_needs

MARKERS = (
    "kiosk_config(*needs): reconfigures or restarts the kiosk; against an external kiosk it "
    "needs the configuration extension with these settings and restart parts",
    "kiosk_inspect(*parts): reads the kiosk's event log or storage; against an external kiosk "
    "it needs the events or storage extension",
    "municipal_clock: moves the issuance server's calendar; against an external server it "
    "needs the server's test-mode clock",
    "municipal_registry: reads a test resident's hidden facts or changes the registry; against "
    "an external server it needs the server's test-registry route",
)
INFO_TIMEOUT_S = 5.0


def declared_extensions(robot_url: str) -> KioskExtensions | None:
    """The extensions an external kiosk's `/info` declares; None when it does not answer."""
    try:
        answer = httpx.get(robot_url.rstrip("/") + "/info", timeout=INFO_TIMEOUT_S)
        answer.raise_for_status()
        return KioskInfo.model_validate_json(answer.content).extensions
    except (httpx.HTTPError, ValidationError):
        return None


def _common(a: KioskExtensions | None, b: KioskExtensions | None) -> KioskExtensions | None:
    """What both kiosks declare: a sharded plan may send any scenario to any unit."""
    if a is None or b is None:
        return None
    config = None
    if a.config is not None and b.config is not None:
        config = ConfigExtension(
            settings=[s for s in a.config.settings if s in b.config.settings],
            restart=[r for r in a.config.restart if r in b.config.restart],
        )
    time = a.time if b.time is not None and a.time is not None else None
    if time is not None and b.time is not None and b.time.max_advance_s < time.max_advance_s:
        time = b.time
    storage = a.storage if b.storage is not None and a.storage is not None else None
    if storage is not None and b.storage is not None and b.storage.max_bytes < storage.max_bytes:
        storage = b.storage
    events = a.events if b.events is not None else None
    return KioskExtensions(time=time, config=config, events=events, storage=storage)


def units_declared(topology: Topology) -> KioskExtensions | None:
    """The extensions every kiosk under test declares (each unit's `/info` asked); None when
    one does not answer."""
    urls = [u.robot_url for u in topology.kiosk.units] or [topology.kiosk.robot_url or ""]
    declared = [declared_extensions(url) for url in urls]
    return functools.reduce(_common, declared[1:], declared[0])


def _missing(declared: KioskExtensions | None, wanted: Iterable[str]) -> list[str]:
    config = declared.config if declared is not None else None
    offered = set() if config is None else {*config.settings, *config.restart}
    return sorted(set(wanted) - offered)


def mark_not_applicable(topology: Topology, items: list[pytest.Item]) -> None:
    """Add a skip marker with its reason to every item that does not apply to `topology`."""
    prefix = f"not applicable to topology {topology.name}"
    municipal = topology.external_municipal
    if municipal is not None:
        test_clock = test_registry = None
        if municipal.test_data is not None:
            try:
                data = load_test_data(municipal.test_data)
                test_clock, test_registry = data.test_clock, data.test_registry
            except MunicipalDataError:
                pass  # rig run refuses the file before any scenario runs
        looks = pytest.mark.skip(
            reason=f"{prefix}: looks into or changes the emulated issuance server's registry, "
            "which an external server does not expose"
        )
        clockless = pytest.mark.skip(
            reason=f"{prefix}: moves the issuance server's calendar, and its test data declares "
            "no test-mode clock (test_clock, docs/municipal-server-testing.md)"
        )
        unregistered = pytest.mark.skip(
            reason=f"{prefix}: reads a test resident's hidden facts or changes the registry, and "
            "its test data declares no test-registry route (test_registry, "
            "docs/municipal-server-testing.md)"
        )
        for item in items:
            if item.get_closest_marker("emulated_municipal") is not None:
                item.add_marker(looks)
            elif item.get_closest_marker("municipal_clock") is not None and not test_clock:
                item.add_marker(clockless)
            elif item.get_closest_marker("municipal_registry") is not None and not test_registry:
                item.add_marker(unregistered)
    if topology.external_kiosk is None:
        return
    # the kiosks' /info is asked once, when the first scenario needs it
    declared = functools.cache(lambda: units_declared(topology))
    for item in items:
        reason = _not_on_kiosk(item, declared)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"{prefix}: {reason}"))


def _not_on_kiosk(item: pytest.Item, declared: Callable[[], KioskExtensions | None]) -> str | None:
    """Why `item` cannot run against the kiosk under test (None: it can)."""
    if item.get_closest_marker("reference_kiosk") is not None:
        return (
            "looks into the reference kiosk (its audit log or state folder), which no "
            "robot-protocol route exposes"
        )
    wanted, impossible = _config_needs(item)
    inspect = item.get_closest_marker("kiosk_inspect")
    looks_at = sorted({str(a) for a in inspect.args}) if inspect is not None else []
    if impossible:
        return f"sets {', '.join(impossible)} on the kiosk, which no route can"
    if not wanted and not looks_at:
        return None
    unseen = missing_parts(declared(), looks_at)
    if unseen:
        return (
            f"reads the kiosk's {' and '.join(unseen)}, and its /info declares no "
            f"{' or '.join(unseen)} extension (docs/kiosk-adapter.md)"
        )
    missing = _missing(declared(), wanted)
    if missing:
        return (
            "reconfigures or restarts the kiosk, and its /info declares no configuration "
            f"extension with {', '.join(missing)} (docs/kiosk-adapter.md)"
        )
    return None


def _config_needs(item: pytest.Item) -> tuple[list[str], list[str]]:
    wanted: set[str] = set()
    impossible: list[str] = []
    marker = item.get_closest_marker("kiosk_config")
    if marker is not None:
        wanted.update(str(a) for a in marker.args)
    world = item.get_closest_marker("world")
    if world is not None and world.kwargs.get("kiosk_overrides"):
        needed, impossible = override_needs(world.kwargs["kiosk_overrides"])
        wanted.update(needed)
    return sorted(wanted), impossible


__all__ = ["MARKERS", "declared_extensions", "mark_not_applicable", "units_declared"]

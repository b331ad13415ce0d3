"""The party contract (rig.core.party) and the registry of party kinds (rig/harness/parties).

Every party a world builds, emulated or a stand-in for a device under test, is a `Party`
(runtime-checkable) and keeps the contract: `start()` gives its kind's documented endpoint
keys, `health()` is up after start and down after stop. The registry refuses a mode it has
no stand-in for before anything starts, stops what it started when a later party fails, and
refuses a party that starts without its keys. All on real parties and transports.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.cash import CashUnit
from emulators.centre import IssuanceCentre
from emulators.jpki import OcspServer
from emulators.kiosk import ReferenceKiosk
from emulators.municipal import MunicipalServer
from emulators.municipal.api import PREFIX
from emulators.municipal.test_clock import TEST_CLOCK_PATH, HoldableClock, clock_routes
from emulators.municipal.test_data import registration_serial
from emulators.printer import VirtualPrinter
from emulators.verification import VerificationSite
from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.municipal_test_data import MunicipalityTestData, MunicipalTestData
from rig.core.party import Party, PartyHealth
from rig.core.pcsc import VirtualCardSlot
from rig.core.pki.jpki import JpkiAuthority
from rig.core.pki.tls import TlsMaterial
from rig.core.protocols.robot import ScreenId
from rig.harness.config import (
    JpkiParty,
    KioskParty,
    Mode,
    MunicipalParty,
    TlsClient,
    Topology,
)
from rig.harness.municipal_standalone import DEFAULT_START
from rig.harness.parties.context import BuildContext
from rig.harness.parties.kiosk import ExternalKiosk, ReferenceKioskParty
from rig.harness.parties.municipal import ExternalIssuanceServer
from rig.harness.parties.registry import (
    KINDS,
    MissingEndpoints,
    NoStandIn,
    PartyKind,
    kind,
    seat,
    start_parties,
)
from rig.harness.world import CITY, World, WorldOptions

SEED = "konbini-scenarios"  # the scenarios' cached PKI (build/test-pki/scenarios)
PKI_FOLDER = Path("build/test-pki/scenarios")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> JpkiAuthority:
    state = tmp_path_factory.mktemp("parties-jpki-state")
    return JpkiAuthority.load_or_create(PKI_FOLDER, SEED, state_dir=state)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return TlsMaterial(tmp_path_factory.mktemp("parties-tls"), seed=SEED)


@pytest.fixture(scope="module")
def registry_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("parties-registry")


def _options(registry_cache: Path, **settings: object) -> WorldOptions:
    options = WorldOptions(seed=SEED, registry_cache=registry_cache, marks="layout")
    for key, value in settings.items():
        setattr(options, key, value)
    return options


@pytest.fixture
def world(
    tmp_path: Path,
    rig_clock: RigClock,
    evidence: EvidenceStore,
    card_slot: VirtualCardSlot,
    pki: JpkiAuthority,
    tls: TlsMaterial,
    registry_cache: Path,
) -> Iterator[World]:
    built = World.build(
        tmp_path, rig_clock, evidence, slot=card_slot, authority=pki, tls=tls,
        options=_options(registry_cache),
    )  # fmt: skip
    try:
        yield built
    finally:
        built.stop()


def _context(
    world: World, tmp_path: Path, topology: Topology | None = None, **settings: object
) -> BuildContext:
    """A build context offering `world`'s parties, for a party built beside them."""
    options = _options(world.options.registry_cache or tmp_path, topology=topology, **settings)
    return BuildContext(
        folder=tmp_path, clock=world.clock, evidence=world.evidence, options=options,
        tls=world.tls, authority=world.authority, slot=world.slot, seat=seat(options),
        endpoints=dict(world.endpoints), ocsp=world.ocsp, ocsp_faults=world.ocsp_faults,
        centre=world.centre, printer=world.printer, cash=world.cash,
    )  # fmt: skip


def test_every_party_of_the_emulated_world_keeps_the_contract(world: World) -> None:
    started = {done.kind.name: done for done in world.parties}
    assert list(started) == [k.name for k in KINDS]
    expected = {
        "municipal issuance server": MunicipalServer,
        "JPKI OCSP responder": OcspServer,
        "issuance centre": IssuanceCentre,
        "printer": VirtualPrinter,
        "cash unit": CashUnit,
        "verification site": VerificationSite,
        "kiosk": ReferenceKioskParty,
    }
    for name, done in started.items():
        assert type(done.party) is expected[name]
        assert isinstance(done.party, Party), name
        assert done.kind.keys <= set(done.endpoints), name
        assert done.party.health() == PartyHealth.ok(), name
    assert isinstance(world.kiosk, ReferenceKiosk) and isinstance(world.kiosk, Party)
    assert world.kiosk.health().up
    # the faults a scenario schedules, on the party itself
    assert started["JPKI OCSP responder"].party.faults is world.ocsp_faults
    assert started["cash unit"].party.faults is world.cash.fault_counters.plan
    assert started["printer"].party.faults is world.printer.faults
    assert started["kiosk"].party.faults is None
    # what the world's endpoints say is what the parties gave
    assert (
        world.endpoints["municipal_base_url"]
        == started["municipal issuance server"].endpoints["base"]
    )
    assert "base" not in world.endpoints
    assert world.endpoints["robot_url"] == started["kiosk"].endpoints["robot_url"]

    world.stop()
    for name, done in started.items():
        health = done.party.health()
        assert not health.up and health.reason, name
    assert not world.kiosk.health().up


def test_an_ocsp_down_window_shows_in_its_health(world: World) -> None:
    world.ocsp.server.pause()
    health = world.ocsp.health()
    assert not health.up and "not listening" in health.reason
    world.ocsp.server.resume()
    assert world.ocsp.health().up


def test_an_external_kiosk_is_a_party_behind_its_robot_adapter(
    world: World, tmp_path: Path
) -> None:
    """The stand-in for a kiosk under test, pointed at the world's own reference kiosk."""
    robot_url = world.endpoints["robot_url"]
    topology = Topology(name="t", kiosk=KioskParty(mode=Mode.EXTERNAL, robot_url=robot_url))
    party = kind("kiosk").factory(topology)(_context(world, tmp_path / "ext", topology))
    assert isinstance(party, ExternalKiosk) and isinstance(party, Party)
    assert not party.health().up  # not yet connected
    assert party.start() == {"robot_url": robot_url}
    assert party.health().up
    assert party.customer is not None and party.reference_kiosk is None
    party.stop()
    health = party.health()
    assert not health.up and "not connected" in health.reason
    assert world.kiosk.health().up  # the kiosk itself runs on


@pytest.fixture
def server_under_test(
    tmp_path: Path, tls: TlsMaterial, registry_cache: Path
) -> Iterator[tuple[MunicipalServer, Topology]]:
    """The emulated issuance server with its test-mode clock, as a device under test: its
    test data (one resident, a registered JPKI serial) and a topology marking it external.
    (`rig municipal-server` exports every trait's residents with card-AP PINs: ~15 s.)"""
    clock = HoldableClock(DEFAULT_START)
    server = MunicipalServer(
        clock, None, tmp_path / "server", None, tls, seed=SEED, cache_dir=registry_cache
    )
    for method, handler in clock_routes(clock, None).items():
        server.http.add_route(method, PREFIX + TEST_CLOCK_PATH, handler)
    url = server.start()["base"]
    try:
        resident = server.registry.find_resident(CITY)
        serial = registration_serial(SEED, resident)
        server.registry.register_jpki_user(serial, resident)
        data = MunicipalTestData(
            municipalities=[
                MunicipalityTestData(
                    code=CITY,
                    residents={"eligible": [resident]},
                    jpki_users={resident: f"{serial:x}"},
                )
            ],
            test_clock=TEST_CLOCK_PATH,
        )
        data.write(tmp_path / "test-data.yaml")
        client = tls.lgpki_client("issuance-centre")
        municipal = MunicipalParty(
            mode=Mode.EXTERNAL, url=url, test_data=tmp_path / "test-data.yaml",
            tls=TlsClient(ca_bundle=tls.server_ca, client_cert=client.cert,
                          client_key=client.key),
        )  # fmt: skip
        yield server, Topology(name="external-municipal", municipal=municipal)
    finally:
        server.stop()


def test_an_external_issuance_server_is_a_party_with_its_test_data_and_clock(
    tmp_path: Path, rig_clock: RigClock, evidence: EvidenceStore, pki: JpkiAuthority,
    tls: TlsMaterial, registry_cache: Path,
    server_under_test: tuple[MunicipalServer, Topology],
) -> None:  # fmt: skip
    emulated, topology = server_under_test
    options = _options(
        registry_cache, topology=topology, with_kiosk=False, with_verification_site=False
    )
    world = World.build(
        tmp_path / "world", rig_clock, evidence, slot=None, authority=pki, tls=tls,
        options=options,
    )  # fmt: skip
    try:
        server = world.parties[0].party
        assert isinstance(server, ExternalIssuanceServer) and isinstance(server, Party)
        assert server.health().up
        assert world.municipal_server is None and world.test_data is server.test_data
        assert world.municipal_clock is server.test_clock is not None
        assert emulated.clock.now() == rig_clock.now()  # its calendar follows the rig clock
        assert world.endpoints["municipal_base_url"] == topology.municipal.url
        assert set(world.municipal_urls) == {CITY}
        assert world.resident(CITY) == server.test_data.resident(CITY, "eligible", 0)
        assert world.centre.municipal_client == server.lgwan.client
        emulated.stop()  # the server under test goes away
        health = server.health()
        assert not health.up and "127.0.0.1" in health.reason
    finally:
        world.stop()
    assert not server.health().up


def test_a_mode_without_a_stand_in_is_refused_before_anything_starts(
    tmp_path: Path, rig_clock: RigClock, evidence: EvidenceStore, pki: JpkiAuthority,
    tls: TlsMaterial, registry_cache: Path,
) -> None:  # fmt: skip
    topology = Topology(
        name="t", jpki=JpkiParty(mode=Mode.EXTERNAL, ocsp_url="http://127.0.0.1:9/ocsp")
    )
    options = _options(registry_cache, topology=topology, with_kiosk=False)
    with pytest.raises(NoStandIn, match="JPKI OCSP responder external"):
        World.build(tmp_path, rig_clock, evidence, slot=None, authority=pki, tls=tls,
                    options=options)  # fmt: skip
    assert not (tmp_path / "municipal").exists()  # the first kind was never built


def _printer_only(keys: frozenset[str]) -> PartyKind:
    printer = kind("printer")
    return PartyKind(printer.name, printer.factories, keys)


def test_a_failed_start_stops_what_started_before_it(world: World, tmp_path: Path) -> None:
    def broken(ctx: BuildContext) -> Party:
        raise OSError("no such device")

    ctx = _context(world, tmp_path / "half")
    ctx.printer = None
    kinds = [_printer_only(frozenset({"ipp_uri"})), PartyKind("broken", {Mode.EMULATED: broken},
                                                              frozenset())]  # fmt: skip
    with pytest.raises(OSError, match="no such device"):
        start_parties(ctx, kinds)
    assert ctx.printer is not None and ctx.printer.health().up is False


def test_a_party_that_starts_without_its_keys_is_refused_and_stopped(
    world: World, tmp_path: Path
) -> None:
    ctx = _context(world, tmp_path / "keys")
    ctx.printer = None
    with pytest.raises(MissingEndpoints, match=r"printer \(VirtualPrinter\).*ipp_fax_uri"):
        start_parties(ctx, [_printer_only(frozenset({"ipp_uri", "ipp_fax_uri"}))])
    assert ctx.printer is not None and not ctx.printer.health().up


def test_a_restarted_reference_kiosk_is_the_one_the_world_stops(world: World) -> None:
    """The application restart of the isolation scenarios: a new kiosk on the same state
    folder and devices. The world's end must stop that one; the old code stopped the first
    kiosk twice and left the new one polling the reader, where it took the next scenario's
    card in the same process (found by the full plan)."""
    first = world.kiosk
    world.restart_reference_kiosk()
    second = world.kiosk
    assert second is not first and type(second) is type(first)
    assert not first.engine.running and second.engine.running
    assert second.state_dir == first.state_dir and second.config == first.config
    assert world.customer.sees().screen is ScreenId.CARD_HOLD  # the old one's robot is gone
    world.stop()
    assert not second.engine.running

"""The emulated world: every party on real transports, one rig clock, one evidence store.

`World.build()` starts, in order: the municipal issuance server(s) (HTTPS, LGPKI client
certificates), the JPKI OCSP responder (HTTP), the issuance centre (HTTPS, kiosk client
certificates), the virtual printer (IPP), the cash unit (serial ports), the verification site,
and, unless the kiosk is the device under test, the reference kiosk with a `Customer` that
drives it. `rig serve`, the scenarios and the soak run all build their world here.

    world = World.build(folder, clock, evidence, slot=slot)
    card = world.issue_card("mynumber-valid", world.resident("991015"))
    world.customer.place_card(card.card)
    ...
    world.stop()
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from emulators.card import BuiltCard, build_card, load_profile
from emulators.card.profiles import holder_spec
from emulators.cash import CashUnit
from emulators.centre import IssuanceCentre
from emulators.centre.server import antiforgery_key
from emulators.jpki import OcspFaultPlan, OcspResponder, OcspServer, ResponderIdentity
from emulators.municipal import MunicipalServer
from emulators.municipal.test_data import registration_serial
from emulators.printer import VirtualPrinter
from emulators.verification import VerificationSite
from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.municipal_test_data import MunicipalTestData, load_test_data
from rig.core.netaddr import DEFAULT_LISTEN
from rig.core.pcsc import VirtualCardSlot
from rig.core.pki.jpki import JpkiAuthority
from rig.core.pki.tls import CertPair, TlsMaterial
from rig.core.protocols.card_ap import CardApInfo
from rig.harness.config import Topology
from rig.harness.kiosk_kit import cash_link_dir, cash_tcp_ports, cash_transport, kit_tls
from rig.harness.selftest.variants import kiosk_class, municipal_class

if TYPE_CHECKING:
    from rig.core.drivers.municipal_test_clock import MunicipalTestClock
    from rig.core.drivers.robot_client import Customer, RobotClient

_T = TypeVar("_T")


def _required(value: _T | None) -> _T:
    """A topology field its validation made required for this party's mode."""
    assert value is not None, "validated with the topology"
    return value


#: The default world seed: municipal card-AP master keys and card keys derive from it.
WORLD_SEED = "konbini-world"
CITY, SMALL_TOWN, KOSEKI_TOWN = "991015", "993026", "993034"
#: いずみ市 offers the JPKI method only, もりの村 the card AP method only (seed I.1 (4), II.3 (8))
JPKI_ONLY_CITY, CARD_AP_ONLY_VILLAGE = "992046", "993069"
CARD_AP_PIN = "2468"
KIOSK_ID = "kiosk-0001"
_card_users = itertools.count(1)


@dataclass
class WorldOptions:
    seed: str = WORLD_SEED
    registry_cache: Path | None = None
    cash_faults: dict[str, Any] | None = None
    cash_transport: str = "pty"
    kiosk_overrides: dict[str, Any] = field(default_factory=dict)
    centre_overrides: dict[str, Any] = field(default_factory=dict)
    with_kiosk: bool = True
    with_verification_site: bool = True
    #: the centre's processing stage: "full" anti-forgery marks, or "layout" only (faster)
    marks: str = "full"
    ocsp_slow_seconds: float = 3.0
    #: the run's topology; an external municipal issuance server replaces the emulated one
    topology: Topology | None = None


@dataclass
class World:
    clock: RigClock
    evidence: EvidenceStore | None
    options: WorldOptions
    tls: TlsMaterial
    authority: JpkiAuthority
    municipal_server: MunicipalServer | None
    ocsp: OcspServer
    ocsp_faults: OcspFaultPlan
    centre: IssuanceCentre
    printer: VirtualPrinter
    cash: CashUnit
    slot: VirtualCardSlot | None
    verification: VerificationSite | None
    endpoints: dict[str, str]
    #: emulators.kiosk.ReferenceKiosk, its robot client and the customer, when it runs
    reference_kiosk: Any = None
    robot_client: RobotClient | None = None
    the_customer: Customer | None = None
    #: municipality code → its API base URL on the municipal server
    municipal_urls: dict[str, str] = field(default_factory=dict)
    #: an external issuance server's test residents and cards (None: the emulated server)
    test_data: MunicipalTestData | None = None
    #: an external issuance server's test-mode clock, held at this world's rig clock
    municipal_clock: MunicipalTestClock | None = None

    @classmethod
    def build(
        cls,
        folder: Path,
        clock: RigClock,
        evidence: EvidenceStore | None,
        *,
        slot: VirtualCardSlot | None,
        authority: JpkiAuthority | None = None,
        tls: TlsMaterial | None = None,
        options: WorldOptions | None = None,
    ) -> World:
        opts = options or WorldOptions()
        folder = Path(folder)
        topology = opts.topology
        if topology is not None and topology.kiosk.units:
            raise ValueError("a world serves one kiosk unit: build it from unit_topology(name)")
        kiosk_party = topology.external_kiosk if topology is not None else None
        municipal_party = topology.external_municipal if topology is not None else None
        fixed: dict[str, int] = {}
        cash_settings: dict[str, Any] = {}
        cash_transport_name = opts.cash_transport
        if topology is not None and kiosk_party is not None:
            # the kiosk was configured once (rig kiosk-kit): same addresses, same TLS files
            tls = kit_tls(topology)
            fixed = {"centre": kiosk_party.centre_port, "ipp": kiosk_party.ipp_port}
            cash_settings = {
                "link_dir": cash_link_dir(topology),
                "tcp_ports": cash_tcp_ports(topology),
            }
            cash_transport_name = cash_transport(topology)
        tls = tls or TlsMaterial(folder / "tls", opts.seed)
        authority = authority or JpkiAuthority.load_or_create(folder / "pki", opts.seed)
        centre_settings: dict[str, Any] = {"marks": opts.marks}
        # where the kiosk-facing parties listen (the topology's; 127.0.0.1 by default)
        listen = {"centre": DEFAULT_LISTEN, "printer": DEFAULT_LISTEN, "cash": DEFAULT_LISTEN}
        if topology is not None:
            listen = {
                "centre": topology.centre.listen,
                "printer": topology.printer.listen,
                "cash": topology.cash.host,
            }
        centre_settings["host"] = listen["centre"]
        started: list[Any] = []
        test_data: MunicipalTestData | None = None
        try:
            municipal: MunicipalServer | None = None
            if municipal_party is None:
                municipal = municipal_class(topology)(
                    clock, evidence, folder / "municipal", None, tls,
                    seed=opts.seed, cache_dir=opts.registry_cache,
                )  # fmt: skip
                municipal_urls = municipal.start()
                started.append(municipal)
            else:
                test_data = load_test_data(_required(municipal_party.test_data))
                base = _required(municipal_party.url).rstrip("/")
                municipal_urls = {"base": base}
                municipal_urls.update({c: f"{base}/municipalities/{c}" for c in test_data.codes})
                lgwan = _required(municipal_party.tls)
                centre_settings["municipal_client"] = CertPair(lgwan.client_cert, lgwan.client_key)
                centre_settings["municipal_ca"] = lgwan.ca_bundle
            centre_settings.update(opts.centre_overrides)
            ocsp_faults = OcspFaultPlan(slow_seconds=opts.ocsp_slow_seconds)
            responder = OcspResponder(
                clock,
                ResponderIdentity(authority.auth_ca_cert, authority.ocsp_cert, authority.ocsp_key),
                status_of=authority.status,
                revocation_of=authority.revocations.revocation,
                faults=ocsp_faults,
                evidence=evidence,
            )
            ocsp = OcspServer(responder)
            urls: dict[str, str] = dict(ocsp.start())
            started.append(ocsp)
            municipal_endpoints = {c: u for c, u in municipal_urls.items() if c != "base"}
            urls["municipal_base_url"] = municipal_urls["base"]
            centre = IssuanceCentre(
                clock, evidence, folder / "centre", tls, municipal_endpoints, ocsp.url,
                authority.auth_ca_cert, fixed.get("centre", 0), seed=opts.seed,
                **centre_settings,
            )  # fmt: skip
            urls.update(centre.start())
            started.append(centre)
            printer = VirtualPrinter(
                clock, evidence, folder / "capture", port=fixed.get("ipp", 0),
                host=listen["printer"],
            )  # fmt: skip
            urls.update(printer.start())
            started.append(printer)
            cash = CashUnit(
                clock, evidence, folder / "cash", cash_transport_name, faults=opts.cash_faults,
                host=listen["cash"], **cash_settings,
            )  # fmt: skip
            urls.update(cash.start())
            started.append(cash)
            verification: VerificationSite | None = None
            if opts.with_verification_site:
                # the site holds the centre's scramble key (docs/verification-site.md)
                verification = VerificationSite(antiforgery_key(opts.seed), evidence=evidence)
                urls.update(verification.start())
                started.append(verification)
            world = cls(
                clock, evidence, opts, tls, authority, municipal, ocsp, ocsp_faults, centre,
                printer, cash, slot, verification, urls,
            )  # fmt: skip
            world.municipal_urls = municipal_endpoints
            world.test_data = test_data
            if test_data is not None and test_data.test_clock:
                from rig.core.drivers.municipal_test_clock import MunicipalTestClock

                lgwan = _required(_required(municipal_party).tls)
                test_clock = MunicipalTestClock(
                    municipal_urls["base"], test_data.test_clock,
                    client=CertPair(lgwan.client_cert, lgwan.client_key), server_ca=lgwan.ca_bundle,
                )  # fmt: skip
                world.municipal_clock = test_clock
                started.append(test_clock)
                test_clock.follow(clock)
            if opts.with_kiosk and kiosk_party is not None:
                if slot is None:
                    raise ValueError("the kiosk under test needs a card slot")
                world._connect_external_kiosk(_required(kiosk_party.robot_url), slot)
            elif opts.with_kiosk:
                if slot is None:
                    raise ValueError("the reference kiosk needs a card slot")
                world._start_kiosk(folder, slot)
                started.append(world.reference_kiosk)
        except BaseException:
            for party in reversed(started):
                party.stop()
            raise
        return world

    @property
    def municipal(self) -> MunicipalServer:
        """The emulated municipal issuance server (absent when the server is external)."""
        if self.municipal_server is None:
            raise RuntimeError(
                "the municipal issuance server is external in this topology: this scenario "
                "looks into the emulated one (mark it emulated_municipal)"
            )
        return self.municipal_server

    @property
    def kiosk(self) -> Any:
        """The reference kiosk (emulators.kiosk.ReferenceKiosk)."""
        return self._need(self.reference_kiosk)

    @property
    def robot(self) -> RobotClient:
        client: RobotClient = self._need(self.robot_client)
        return client

    @property
    def customer(self) -> Customer:
        """A person at the reference kiosk: robot calls plus the physical acts."""
        customer: Customer = self._need(self.the_customer)
        return customer

    @staticmethod
    def _need(part: Any) -> Any:
        if part is None:
            raise RuntimeError("this world has no reference kiosk (WorldOptions.with_kiosk)")
        return part

    def _connect_external_kiosk(self, robot_url: str, slot: VirtualCardSlot) -> None:
        """The kiosk under test: back to standby with its devices reopened on this world."""
        from rig.core.drivers.robot_client import Customer, RobotClient

        self.robot_client = RobotClient(robot_url)
        self.robot_client.reset()
        info = self.robot_client.info()
        self.the_customer = Customer(
            self.robot_client, card_slot=slot, cash=self.cash.customer, printer=self.printer,
            clock=self.clock, follows_rig_clock=info.follows_rig_clock, evidence=self.evidence,
        )  # fmt: skip
        if self.options.kiosk_overrides:
            from rig.harness.kiosk_reconfigure import reconfigure

            reconfigure(self.the_customer, self.options.kiosk_overrides)

    def _start_kiosk(self, folder: Path, slot: VirtualCardSlot) -> None:
        from emulators.kiosk import KioskConfig
        from rig.core.drivers.robot_client import Customer, RobotClient

        urls = self.endpoints
        config = KioskConfig(
            reader_name=slot.reader_name,
            bill_validator_port=urls["bill_validator_port"],
            coin_port=urls["coin_port"],
            ipp_uri=urls["ipp_uri"],
            ipp_receipt_uri=urls["ipp_receipt_uri"],
            centre_url=urls["center_url"],
            client_certificate=self.tls.kiosk_client(KIOSK_ID),
            server_ca=self.tls.server_ca,
            kiosk_id=KIOSK_ID,
        )
        for key, value in self.options.kiosk_overrides.items():
            setattr(config, key, value)
        kiosk_cls = kiosk_class(self.options.topology)  # a selftest defect, or the reference
        self.reference_kiosk = kiosk_cls(self.clock, self.evidence, folder / "kiosk", config)
        urls.update(self.reference_kiosk.start())
        self.robot_client = RobotClient(urls["robot_url"])
        self.the_customer = Customer(
            self.robot_client, card_slot=slot, cash=self.cash.customer, printer=self.printer,
            clock=self.clock, follows_rig_clock=True, evidence=self.evidence,
        )  # fmt: skip

    # -- residents and their cards ---------------------------------------------------------
    def resident(self, code: str = CITY, trait: str = "eligible", index: int = 0) -> str:
        if self.test_data is not None:
            return self.test_data.resident(code, trait, index)
        return self.municipal.registry.find_resident(code, trait=trait, index=index)

    def residents(self, code: str, trait: str) -> list[str]:
        """Every resident of `trait` (for an external server: those its test data names)."""
        if self.test_data is not None:
            return self.test_data.residents(code, trait)
        return self.municipal.registry.find_residents(code, trait)

    def issue_card(
        self,
        profile: str,
        resident_id: str | None = None,
        *,
        code: str = CITY,
        card_ap_pin: str = CARD_AP_PIN,
    ) -> BuiltCard:
        """Build a card of `profile` and register it for `resident_id` (both methods).

        With an external issuance server nothing can be registered there: the card carries
        the JPKI serial and the card-AP identity its test data names for the resident.
        """
        spec = load_profile(profile)
        info: CardApInfo | None = None
        key: bytes | None = None  # None: derived from the world seed's master key
        pin: str | None = None
        serial = 0  # 0: derived by the authority
        if resident_id is not None and self.test_data is not None:
            municipality = self.test_data.municipality(code)
            if spec.card_ap is not None:
                user = municipality.card_ap_user(resident_id)
                info = CardApInfo(code, user.user_id, user.key_version, user.card_kind)
                key, pin = bytes.fromhex(user.key), user.pin
            if spec.jpki is not None:
                try:
                    serial = self.test_data.jpki_serial(code, resident_id)
                except LookupError:  # NotInTestData
                    if info is None:
                        raise
                    # a card-AP card of a municipality that registers no JPKI users (the
                    # card-AP-only village): its JPKI certificate is one nobody registered
        elif resident_id is not None and spec.card_ap is not None:
            kind = "JUKI" if spec.form.value == "juki_card" else "MYNA"
            user_id = f"KIOSK{next(_card_users):011d}"
            info = self.municipal.registry.register_card_ap_user(
                user_id, resident_id, card_ap_pin, card_kind=kind
            )
            pin = card_ap_pin
        # one certificate (serial) per resident and profile, the profile's cached key pair
        base = holder_spec(spec).holder()
        holder = replace(
            base,
            holder_id=f"{base.holder_id}@{resident_id}" if resident_id else base.holder_id,
            key_id=base.holder_id,
            auth_serial=serial,
        )
        card = build_card(
            profile, self.authority, seed=self.options.seed, evidence=self.evidence,
            holder=holder, card_ap_info=info, card_ap_key=key,
        )  # fmt: skip
        if card.credentials is not None and resident_id is not None:
            if self.test_data is None:
                self.municipal.registry.register_jpki_user(
                    card.credentials.auth_serial, resident_id
                )
            self.centre.register_jpki_holder(card.credentials.auth_serial, code)
        if pin is not None:
            card.pins["card_ap_pin"] = pin
        return card

    # -- the LGWAN side, as the centre presents itself to the issuance server --------------
    def lgwan_client_cert(self) -> CertPair:
        """The certificate the centre presents to the issuance server (LGPKI-style)."""
        return self.centre.municipal_client

    def lgwan_ca(self) -> Path:
        """The CA bundle the centre trusts for the issuance server's certificate."""
        return self.centre.municipal_ca

    def registered_serial(self, code: str, resident_id: str) -> int:
        """A JPKI authentication-certificate serial the issuance server maps to the resident
        (for scenarios that speak LGWAN themselves, without a card)."""
        if self.test_data is not None:
            return self.test_data.jpki_serial(code, resident_id)
        serial = registration_serial(self.options.seed, resident_id)
        self.municipal.registry.register_jpki_user(serial, resident_id)
        return serial

    def stop(self) -> None:
        if self.robot_client is not None:
            self.robot_client.close()
        if self.municipal_clock is not None:
            self.municipal_clock.stop()
        parties: list[Any] = [self.printer, self.centre, self.ocsp]
        if self.municipal_server is not None:
            parties.append(self.municipal_server)
        if self.verification is not None:
            parties.append(self.verification)
        stops = [p.stop for p in parties] + [self.cash.close]
        if self.reference_kiosk is not None:
            stops.insert(0, self.reference_kiosk.stop)
        # each server's shutdown waits out a poll interval: stop them side by side
        with ThreadPoolExecutor(len(stops)) as pool:
            for future in [pool.submit(stop) for stop in stops]:
                future.result()
        if self.slot is not None:
            self.slot.remove()

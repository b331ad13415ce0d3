"""The world: every party on real transports, one rig clock, one evidence store.

`World.build()` builds and starts the party kinds of rig/harness/parties/registry.py in order:
the municipal issuance server (emulated, or one under test), the JPKI OCSP responder, the
issuance centre, the virtual printer, the cash unit, the verification site and the kiosk (the
reference kiosk, or one under test behind its robot adapter) with a `Customer` who uses it.
Which of emulated or external each is, the topology says and the registry decides.
`rig serve`, the scenarios, the soak and the benchmarks build their world here.

    world = World.build(folder, clock, evidence, slot=slot)
    card = world.issue_card("mynumber-valid", world.resident("991015"))
    world.customer.place_card(card.card)
    ...
    world.stop()
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from emulators.card import BuiltCard, build_card, load_profile
from emulators.card.profiles import holder_spec
from emulators.municipal.test_data import registration_serial
from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.municipal_test_data import MunicipalTestData
from rig.core.pcsc import VirtualCardSlot
from rig.core.pki.jpki import JpkiAuthority
from rig.core.pki.tls import CertPair, TlsMaterial
from rig.core.protocols.card_ap import CardApInfo
from rig.harness.parties.context import KIOSK_ID, BuildContext, KioskSeatParty, offered
from rig.harness.parties.kiosk import ReferenceKioskParty
from rig.harness.parties.options import (
    WORLD_SEED,
    CentreOverrides,
    KioskOverrides,
    WorldOptions,
)
from rig.harness.parties.registry import Started, seat, start_parties, stop_parties

if TYPE_CHECKING:
    from emulators.cash import CashUnit
    from emulators.centre import IssuanceCentre
    from emulators.jpki import OcspFaultPlan, OcspServer
    from emulators.kiosk import ReferenceKiosk
    from emulators.municipal import MunicipalServer
    from emulators.printer import VirtualPrinter
    from emulators.verification import VerificationSite
    from rig.core.drivers.municipal_test_clock import MunicipalTestClock
    from rig.core.drivers.robot_client import Customer, RobotClient

_T = TypeVar("_T")

CITY, SMALL_TOWN, KOSEKI_TOWN = "991015", "993026", "993034"
#: いずみ市 offers the JPKI method only, もりの村 the card AP method only (seed I.1 (4), II.3 (8))
JPKI_ONLY_CITY, CARD_AP_ONLY_VILLAGE = "992046", "993069"
CARD_AP_PIN = "2468"
_card_users = itertools.count(1)

__all__ = [
    "CARD_AP_ONLY_VILLAGE", "CARD_AP_PIN", "CITY", "JPKI_ONLY_CITY", "KIOSK_ID", "KOSEKI_TOWN",
    "SMALL_TOWN", "WORLD_SEED", "CentreOverrides", "KioskOverrides", "World", "WorldOptions",
]  # fmt: skip


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
    #: the kiosk party (the reference kiosk or one under test), when a kiosk is in the world
    kiosk_seat: KioskSeatParty | None = None
    #: municipality code → its API base URL on the municipal server
    municipal_urls: dict[str, str] = field(default_factory=dict)
    #: an external issuance server's test residents and cards (None: the emulated server)
    test_data: MunicipalTestData | None = None
    #: an external issuance server's test-mode clock, held at this world's rig clock
    municipal_clock: MunicipalTestClock | None = None
    #: every party started, in build order (rig/harness/parties/registry.py)
    parties: list[Started] = field(default_factory=list)

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
        """Every party kind the options want, built from the topology through the registry
        and started in order (docs/architecture.md, "The party lifecycle")."""
        opts = options or WorldOptions()
        folder = Path(folder)
        topology = opts.topology
        if topology is not None and topology.kiosk.units:
            raise ValueError("a world serves one kiosk unit: build it from unit_topology(name)")
        kiosk_seat = seat(opts)
        ctx = BuildContext(
            folder=folder, clock=clock, evidence=evidence, options=opts,
            tls=kiosk_seat.tls or tls or TlsMaterial(folder / "tls", opts.seed),
            authority=authority or JpkiAuthority.load_or_create(folder / "pki", opts.seed),
            slot=slot, seat=kiosk_seat,
        )  # fmt: skip
        parties = start_parties(ctx)
        return cls(
            clock, evidence, opts, ctx.tls, ctx.authority, ctx.municipal_server,
            offered(ctx.ocsp, "the OCSP responder"), offered(ctx.ocsp_faults, "OCSP faults"),
            offered(ctx.centre, "the centre"), offered(ctx.printer, "the printer"),
            offered(ctx.cash, "the cash unit"), slot, ctx.verification, ctx.endpoints,
            kiosk_seat=ctx.kiosk,
            municipal_urls=ctx.municipal_urls, test_data=ctx.test_data,
            municipal_clock=ctx.municipal_clock, parties=parties,
        )  # fmt: skip

    @property
    def municipal(self) -> MunicipalServer:
        """The emulated municipal issuance server (absent when the server is external)."""
        if self.municipal_server is None:
            raise RuntimeError(
                "the municipal issuance server is external in this topology: this scenario "
                "looks into the emulated one (mark it emulated_municipal)"
            )
        return self.municipal_server

    # The kiosk's parts are read from its party each time (never copied here), so a kiosk
    # the party replaces (`restart_reference_kiosk`) is the one the world drives and stops.
    @property
    def reference_kiosk(self) -> ReferenceKiosk | None:
        """The reference kiosk, when it is the world's kiosk (None: a kiosk under test)."""
        return self.kiosk_seat.reference_kiosk if self.kiosk_seat is not None else None

    @property
    def kiosk(self) -> ReferenceKiosk:
        """The reference kiosk (emulators.kiosk.ReferenceKiosk)."""
        return self._need(self.reference_kiosk)

    @property
    def robot(self) -> RobotClient:
        return self._need(self.kiosk_seat.robot_client if self.kiosk_seat is not None else None)

    @property
    def customer(self) -> Customer:
        """A person at the reference kiosk: robot calls plus the physical acts."""
        return self._need(self.kiosk_seat.customer if self.kiosk_seat is not None else None)

    @staticmethod
    def _need(part: _T | None) -> _T:
        if part is None:
            raise RuntimeError("this world has no reference kiosk (WorldOptions.with_kiosk)")
        return part

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

    def restart_reference_kiosk(self) -> None:
        """Stop the reference kiosk and start a new one on the same state folder, devices and
        configuration (the application restarting); the world's robot client and customer
        are then the new kiosk's, and the world's end stops it."""
        if not isinstance(self.kiosk_seat, ReferenceKioskParty):
            raise RuntimeError("this world has no reference kiosk (WorldOptions.with_kiosk)")
        self.kiosk_seat.restart()

    def stop(self) -> None:
        stop_parties(self.parties)
        if self.slot is not None:
            self.slot.remove()

"""What the party kinds of a world are built from, and what each offers the kinds after it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.netaddr import DEFAULT_LISTEN
from rig.core.party import Party
from rig.core.pcsc import VirtualCardSlot
from rig.core.pki.jpki import JpkiAuthority
from rig.core.pki.tls import CertPair, TlsMaterial
from rig.harness.parties.options import WorldOptions

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
    from rig.core.municipal_test_data import MunicipalTestData

_T = TypeVar("_T")

#: the kiosk-facing HTTPS, IPP and serial parties the one kiosk identity is configured for
KIOSK_ID = "kiosk-0001"


@dataclass(frozen=True)
class Seat:
    """Where the kiosk-facing parties serve the kiosk. The reference kiosk is configured per
    world (any free port, the world's TLS files); a kiosk under test was configured once
    (`rig kiosk-kit`), so every world serves it at the same addresses with the kit's TLS."""

    tls: TlsMaterial | None = None
    centre_port: int = 0
    ipp_port: int = 0
    cash_transport: str = "pty"
    cash_link_dir: Path | None = None
    cash_tcp_ports: dict[str, int] | None = None


@dataclass(frozen=True)
class Lgwan:
    """What the centre presents to, and trusts of, an external issuance server on LGWAN."""

    client: CertPair
    ca: Path


class KioskSeatParty(Party, Protocol):
    """A kiosk party: the reference kiosk or one under test, with the robot client that
    drives it and the `Customer` who uses it."""

    @property
    def reference_kiosk(self) -> ReferenceKiosk | None: ...

    @property
    def robot_client(self) -> RobotClient | None: ...

    @property
    def customer(self) -> Customer | None: ...


@dataclass
class BuildContext:
    """The world's inputs, and what the parties started so far offer: their endpoints (merged
    under fixed keys) and, typed, the parties themselves."""

    folder: Path
    clock: RigClock
    evidence: EvidenceStore | None
    options: WorldOptions
    tls: TlsMaterial
    authority: JpkiAuthority
    slot: VirtualCardSlot | None
    seat: Seat
    endpoints: dict[str, str] = field(default_factory=dict)
    # -- offers, filled in build order ------------------------------------------------------
    municipal_server: MunicipalServer | None = None
    #: municipality code → its API base URL on the issuance server
    municipal_urls: dict[str, str] = field(default_factory=dict)
    lgwan: Lgwan | None = None
    test_data: MunicipalTestData | None = None
    municipal_clock: MunicipalTestClock | None = None
    ocsp: OcspServer | None = None
    ocsp_faults: OcspFaultPlan | None = None
    centre: IssuanceCentre | None = None
    printer: VirtualPrinter | None = None
    cash: CashUnit | None = None
    verification: VerificationSite | None = None
    kiosk: KioskSeatParty | None = None

    def listen(self, party: str) -> str:
        """Where a kiosk-facing party listens: the topology's address, 127.0.0.1 by default."""
        topology = self.options.topology
        if topology is None:
            return DEFAULT_LISTEN
        return {
            "centre": topology.centre.listen,
            "printer": topology.printer.listen,
            "cash": topology.cash.host,
        }[party]


def offered(value: _T | None, what: str) -> _T:
    """A party an earlier kind offers; its absence is a wrong build order, said so."""
    if value is None:
        raise RuntimeError(f"party kinds out of order: {what} is not built yet")
    return value


def required(value: _T | None) -> _T:
    """A topology field its validation made required for this party's mode."""
    assert value is not None, "validated with the topology"
    return value

"""What a scenario may ask of its world (`@pytest.mark.world(**WorldOptions)`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from rig.core.calendar import CentreHours, IncidentSchedule
from rig.core.pki.tls import CertPair
from rig.core.protocols.robot import ScreenId
from rig.harness.config import Topology

if TYPE_CHECKING:
    from emulators.cash.faults import FaultPlan
    from emulators.centre.server import Marks
    from emulators.municipal.config import MunicipalityConfig

#: The default world seed: municipal card-AP master keys and card keys derive from it.
WORLD_SEED = "konbini-world"


class KioskOverrides(TypedDict, total=False):
    """`emulators.kiosk.KioskConfig` fields a scenario sets on the reference kiosk (an external
    kiosk takes `centre_url` and `server_ca` through its configuration extension)."""

    centre_url: str
    server_ca: Path
    client_certificate: CertPair
    ipp_uri: str
    ipp_receipt_uri: str | None
    bill_validator_port: str
    coin_port: str
    kiosk_id: str
    store_id: str
    operator_id: str
    timeouts: dict[ScreenId, float]
    tick_s: float


class CentreOverrides(TypedDict, total=False):
    """`emulators.centre.IssuanceCentre` settings a scenario changes."""

    ocsp_timeout: float
    municipal_timeout: float
    max_body: int
    hours: CentreHours
    incidents: IncidentSchedule


@dataclass
class WorldOptions:
    seed: str = WORLD_SEED
    registry_cache: Path | None = None
    #: the cash unit's fault plan: an `emulators.cash.faults.FaultPlan` or its fields by name
    cash_faults: FaultPlan | dict[str, object] | None = None
    cash_transport: str = "pty"
    kiosk_overrides: KioskOverrides = field(default_factory=lambda: KioskOverrides())
    centre_overrides: CentreOverrides = field(default_factory=lambda: CentreOverrides())
    with_kiosk: bool = True
    with_verification_site: bool = True
    #: the centre's processing stage: "full" anti-forgery marks, or "layout" only (faster)
    marks: Marks = "full"
    ocsp_slow_seconds: float = 3.0
    #: the run's topology: it says which parties are emulated and which are external
    topology: Topology | None = None
    #: the emulated issuance server's municipalities (None: the bundled ones); a load run
    #: widens their registries to have as many distinct applicants as sessions
    municipalities: list[MunicipalityConfig] | None = None

"""The reference kiosk's configuration: its identity, its devices and its time-outs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from emulators.kiosk import identity
from rig.core.pki.tls import CertPair
from rig.core.protocols.robot import ScreenId

#: Inactivity time-outs in rig-clock seconds (docs/kiosk.md). A screen not listed has none.
DEFAULT_TIMEOUTS: dict[ScreenId, float] = {
    ScreenId.CARD_WAIT: 30,
    ScreenId.PIN: 60,
    ScreenId.CARD_REMOVAL: 60,
    ScreenId.CERTIFICATE_CHOICE: 60,
    ScreenId.ISSUANCE_TYPE: 60,
    ScreenId.HOUSEHOLD_SELECTION: 60,
    ScreenId.ITEMS: 60,
    ScreenId.COPIES: 60,
    ScreenId.CONFIRMATION: 60,
    ScreenId.DOWNLOAD: 60,
    ScreenId.PAYMENT: 120,
    ScreenId.PRINTING: 180,
    ScreenId.TAKE_REMINDER: 60,
    ScreenId.RECEIPT: 60,
    ScreenId.NOTICE: 30,
}


@dataclass
class KioskConfig:
    """Where the kiosk's parts are. Endpoint names follow `rig serve` (docs/kiosk.md)."""

    reader_name: str
    bill_validator_port: str
    coin_port: str
    ipp_uri: str
    centre_url: str
    client_certificate: CertPair
    server_ca: Path
    ipp_receipt_uri: str | None = None
    kiosk_id: str = "kiosk-0001"
    store_id: str = "store-0001"
    operator_id: str = "rig-konbini"
    timeouts: dict[ScreenId, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    #: Engine tick: how often devices are polled while waiting (wall seconds).
    tick_s: float = 0.01
    vendor: str = identity.VENDOR
    model: str = identity.MODEL
    software_version: str = identity.SOFTWARE_VERSION

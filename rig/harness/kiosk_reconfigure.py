"""Reconfiguring or restarting the kiosk under test, whichever kiosk it is.

The reference kiosk in the rig's process takes `WorldOptions.kiosk_overrides` when it is
built and is restarted by building it again. An external kiosk is configured once from its
kit; one that declares the robot protocol's configuration extension (docs/kiosk-adapter.md)
is reconfigured through `POST /config` and restarted through `POST /restart`, so the
scenarios that point the kiosk at a centre tap, give it another trust anchor or restart it in
the middle of a payment judge it too. `needs` says what a scenario's overrides require; the
pytest plugin reports a scenario "not applicable" when the kiosk does not declare it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rig.core.protocols.robot import ScreenId

if TYPE_CHECKING:
    from rig.core.drivers.robot_client import Customer

#: `WorldOptions.kiosk_overrides` keys → the configuration-extension setting that does it
SETTINGS = {"centre_url": "centre_url", "server_ca": "trust_anchor"}
#: how long a restarted kiosk may take to show standby again (seconds)
RESTART_S = 60.0


def needs(overrides: Iterable[str]) -> tuple[list[str], list[str]]:
    """(what the configuration extension must offer, overrides no extension can make)."""
    keys = list(overrides)
    wanted = sorted({SETTINGS[k] for k in keys if k in SETTINGS})
    return ([*wanted, "application"] if keys else []), sorted(k for k in keys if k not in SETTINGS)


def reconfigure(customer: Customer, overrides: Mapping[str, Any]) -> None:
    """Apply `overrides` to an external kiosk (POST /config), then restart its application."""
    _, impossible = needs(overrides)
    if impossible:
        raise ValueError(f"an external kiosk cannot be given {impossible} (docs/kiosk-adapter.md)")
    settings: dict[str, str] = {}
    if "centre_url" in overrides:
        settings["centre_url"] = str(overrides["centre_url"])
    if "server_ca" in overrides:
        settings["trust_anchor_pem"] = Path(overrides["server_ca"]).read_text(encoding="ascii")
    extensions = customer.extensions()
    extensions.configure(**settings)
    restart_application(customer)


def restart_application(customer: Customer) -> None:
    """Restart the external kiosk's application (POST /restart) and wait for its standby."""
    customer.extensions().restart("application")
    customer.wait_for(ScreenId.CARD_HOLD, ScreenId.NOTICE, timeout=RESTART_S)


__all__ = ["RESTART_S", "SETTINGS", "needs", "reconfigure", "restart_application"]

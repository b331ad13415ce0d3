"""Emulated municipal certificate issuance server (証明発行サーバ).

Model: `registry`, `models`, `generator` (the resident registry in SQLite), `certificates`
and `pdf` (certificate content and rendering), `hours` (service hours), `service` (sessions,
issuance, statistics). Transport: `api` (routes) and `server` (`MunicipalServer`).
Faults: `faults`. The card-AP check hook: `card_ap.verify_card_response`.
"""

from emulators.municipal.server import MunicipalServer

__all__ = ["MunicipalServer"]

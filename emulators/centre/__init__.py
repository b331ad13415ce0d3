"""Emulated certificate issuance centre (証明書交付センター): the kiosks' only server.

Model: `service` (sessions, authentication, requests, completion), `transactions` (what is
held in memory), `hours` (service hours and the closing-time grace), `jpki` (certificate,
signature and OCSP checks), `processing` (the anti-forgery/layout stage), `statistics`
(SQLite: issuance rows, settlement view, JPKI holder links), `idempotency`, `notices`
(outage and maintenance notices, fault monitoring; the annual operating burden table is
rig/core/burden.py, shared with the demand model), `access` (who may read which statistics).
Transport: `api` (kiosk routes), `lgwan` (client to municipalities), `server`
(`IssuanceCentre`). Faults: `faults`. See docs/centre.md.
"""

from emulators.centre.server import IssuanceCentre

__all__ = ["IssuanceCentre"]

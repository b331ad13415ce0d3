"""The issuance centre process: kiosk-facing HTTPS server + municipal link + OCSP client.

    centre = IssuanceCentre(clock, evidence, state_dir, tls_material,
                            municipal_endpoints, ocsp_url, jpki_issuer_cert)
    centre.register_jpki_holder(serial, "991015")   # the world builder, per card issued
    urls = centre.start()                            # {"center_url": "https://127.0.0.1:PORT/v1"}
    ...
    centre.stop()

State on disk (`state_dir`): only `centre.sqlite` (statistics, JPKI holder links, result
reports owed to municipalities). Certificate data is held in memory only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from cryptography import x509

from emulators.centre.access import ClientKind
from emulators.centre.api import build_routes
from emulators.centre.faults import CentreFaults
from emulators.centre.hours import ServiceWindow
from emulators.centre.idempotency import IdempotencyStore
from emulators.centre.jpki import JpkiVerifier
from emulators.centre.lgwan import MunicipalLink
from emulators.centre.notices import NoticeBoard
from emulators.centre.processing import MarkStage, antiforgery_stage, layout_stage
from emulators.centre.service import CentreService
from emulators.centre.statistics import CentreRecords
from rig.core.burden import MunicipalityKind, annual_burden
from rig.core.calendar import CentreHours, IncidentSchedule
from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.https import JsonHttpsServer
from rig.core.netaddr import DEFAULT_LISTEN
from rig.core.party import PartyHealth, served_health
from rig.core.pki.tls import CertPair, TlsMaterial
from rig.core.protocols.centre import API_PREFIX

Marks = Literal["layout", "full"]
DEFAULT_SEED = "konbini-rig"
DEFAULT_MAX_BODY = 64 * 1024
STATE_FILE = "centre.sqlite"


def antiforgery_key(seed: str) -> bytes:
    """The centre's scramble key in a test world: derived from the world seed."""
    return hmac.new(seed.encode(), b"centre-antiforgery-key", hashlib.sha256).digest()


class IssuanceCentre:
    """The emulated 証明書交付センター on one HTTPS port."""

    def __init__(
        self,
        clock: RigClock,
        evidence: EvidenceStore | None,
        state_dir: Path,
        tls_material: TlsMaterial,
        municipal_endpoints: Mapping[str, str],
        ocsp_url: str,
        jpki_issuer_cert: x509.Certificate | Path,
        port: int = 0,
        *,
        incidents: IncidentSchedule | None = None,
        marks: Marks | MarkStage = "layout",
        seed: str = DEFAULT_SEED,
        max_body: int = DEFAULT_MAX_BODY,
        ocsp_timeout: float = 10.0,
        municipal_timeout: float = 30.0,
        hours: CentreHours | None = None,
        municipal_client: CertPair | None = None,
        municipal_ca: Path | None = None,
        host: str = DEFAULT_LISTEN,
    ):
        """`municipal_client` / `municipal_ca`: the certificate the centre presents on LGWAN and
        the CA it trusts there, for an external issuance server (default: the rig's own).
        `host`: the address it listens on, named in its server certificate."""
        self.clock = clock
        self.evidence = evidence
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.incidents = incidents if incidents is not None else IncidentSchedule()
        self.faults = CentreFaults(self.incidents)
        issuer = (
            jpki_issuer_cert
            if isinstance(jpki_issuer_cert, x509.Certificate)
            else x509.load_pem_x509_certificate(Path(jpki_issuer_cert).read_bytes())
        )
        self.records = CentreRecords(self.state_dir / STATE_FILE)
        self.notices = NoticeBoard(clock.now, self.incidents, evidence)
        #: what the centre presents on LGWAN, and the CA it trusts there
        self.municipal_client = municipal_client or tls_material.lgpki_client("issuance-centre")
        self.municipal_ca = municipal_ca or tls_material.server_ca
        self.link = MunicipalLink(
            municipal_endpoints,
            self.municipal_client,
            self.municipal_ca,
            clock.now,
            self.incidents,
            self.notices,
            timeout=municipal_timeout,
            evidence=evidence,
        )
        self.verifier = JpkiVerifier(
            issuer, ocsp_url, self.notices, timeout=ocsp_timeout, evidence=evidence
        )
        if marks == "layout":
            stage: MarkStage = layout_stage
        elif marks == "full":
            stage = antiforgery_stage(antiforgery_key(seed))
        elif callable(marks):
            stage = marks
        else:
            raise ValueError(f"marks must be 'layout', 'full' or a stage, not {marks!r}")
        self.window = ServiceWindow(hours, self.incidents)
        self.service = CentreService(
            clock, self.window, self.link, self.verifier, self.records, stage, evidence
        )
        self.idempotency = IdempotencyStore(clock.now)
        cas: dict[x509.Name, ClientKind] = {
            tls_material.ca("kiosk").load_cert().subject: "kiosk",
            tls_material.ca("lgpki").load_cert().subject: "lgpki",
        }
        self.http = JsonHttpsServer(
            certificate=tls_material.server("centre", hosts=(host,)),
            client_cas=[tls_material.kiosk_ca, tls_material.lgpki_ca],
            routes=build_routes(self.service, self.records, cas, self.idempotency, self.notices),
            port=port,
            max_body=max_body,
            name="centre-http",
            evidence=evidence,
            host=host,
        )

    # -- world builder -----------------------------------------------------------------------
    def register_jpki_holder(self, serial: str | int, municipality_code: str) -> None:
        """Link a JPKI authentication certificate to its holder's municipality (J-LIS's role)."""
        self.records.register_jpki_holder(serial, municipality_code)

    # -- for tests ---------------------------------------------------------------------------
    def held_documents(self) -> int:
        """Certificate documents held in memory now (0 once every transaction is over)."""
        self.service.purge_due()
        return self.service.sessions.held_documents()

    def open_sessions(self) -> int:
        self.service.purge_due()
        return len(self.service.sessions)

    def settlement(
        self, month: str | None = None, municipality: str | None = None
    ) -> list[dict[str, Any]]:
        return self.records.settlement(month, municipality)

    def annual_burden(self, kind: MunicipalityKind | str, population: int) -> int:
        """A municipality's yearly operating burden in yen (seed III.2.5 (1))."""
        return annual_burden(kind, population)

    def route_table(self) -> list[tuple[str, str]]:
        return self.http.route_table()

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> dict[str, str]:
        root = self.http.start()
        return {"center_url": root + API_PREFIX}

    def stop(self) -> None:
        self.http.stop()
        for session_id in self.service.sessions.all_ids():
            self.service._purge(session_id, "stopped")
        self.link.close()
        self.verifier.close()
        self.records.close()

    def health(self) -> PartyHealth:
        return served_health(self.http.server)

    def __enter__(self) -> IssuanceCentre:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""The load kit: everything a load worker needs, in one JSON document (kit.json).

The emulated world (or, for an external server, the rig's own centre side) is set up in a
process of its own; it writes the kit, and Locust workers read it, from a shared folder or
sent by the master as a custom message, so a worker on another machine needs nothing but the
master's address. It holds test material only: the kiosks' client certificates, the CA the
target's server certificate chains to, the LGPKI-style client certificate for server mode,
and the test applicants with their credentials (a JPKI key and certificate shared by the
minted test certificates; each card-AP test card's key and PIN). It never holds a real card's
secret; treat it as the test data it is (docs/load.md).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rig.core.pki.tls import CertPair

KIT_FILE = "kit.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KioskIdentity(_Model):
    kiosk_id: str
    store_id: str
    operator_id: str
    cert_pem: str
    key_pem: str


class CardApCard(_Model):
    user_id: str
    key_hex: str
    pin: str
    card_kind: str = "MYNA"
    key_version: int = 1


class Applicant(_Model):
    """One test resident and the credentials of their card(s)."""

    resident_id: str
    #: the municipality applied to: where they live, or (non-resident) where their 本籍 is
    code: str
    resident: bool = True
    #: index into LoadKit.jpki_certs_der_b64 (None: no JPKI certificate for this resident)
    jpki: int | None = None
    jpki_serial_hex: str | None = None
    card_ap: CardApCard | None = None


class LgwanAccess(_Model):
    """How server mode reaches the issuance server, as the centre would."""

    base_url: str  # …/v1
    ca_pem: str
    client_cert_pem: str
    client_key_pem: str


class LoadKit(_Model):
    target: Literal["emulated", "external-municipal"]
    centre_url: str
    centre_ca_pem: str
    kiosks: list[KioskIdentity] = Field(min_length=1)
    #: the one RSA key of every minted JPKI test certificate (PEM, PKCS#8)
    jpki_key_pem: str
    jpki_certs_der_b64: list[str]
    applicants: list[Applicant] = Field(min_length=1)
    lgwan: LgwanAccess | None = None
    clock_start: str

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / KIT_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(), encoding="utf-8")
        tmp.replace(path)  # readers never see half a kit
        return path

    @classmethod
    def read(cls, path: Path) -> LoadKit:
        if path.is_dir():
            path = path / KIT_FILE
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))


class KitFiles:
    """The kit's PEMs as files (TLS contexts load files), in a private temporary folder."""

    def __init__(self, kit: LoadKit):
        self._dir = tempfile.TemporaryDirectory(prefix="rig-load-kit-")
        self.folder = Path(self._dir.name)
        self.centre_ca = self._write("centre-ca.pem", kit.centre_ca_pem)
        self.kiosks = [
            CertPair(
                self._write(f"{k.kiosk_id}.pem", k.cert_pem),
                self._write(f"{k.kiosk_id}.key", k.key_pem),
            )
            for k in kit.kiosks
        ]
        self.lgwan_ca: Path | None = None
        self.lgwan_client: CertPair | None = None
        if kit.lgwan is not None:
            self.lgwan_ca = self._write("lgwan-ca.pem", kit.lgwan.ca_pem)
            self.lgwan_client = CertPair(
                self._write("lgwan.pem", kit.lgwan.client_cert_pem),
                self._write("lgwan.key", kit.lgwan.client_key_pem),
            )

    def _write(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        return path

    def close(self) -> None:
        self._dir.cleanup()

"""A JPKI authority, an OCSP responder on loopback, and holders to ask about."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest

from emulators.jpki import OcspFaultPlan, OcspResponder, OcspServer, ResponderIdentity
from rig.core.clock import JST, RigClock
from rig.core.evidence import EvidenceStore
from rig.core.pki.jpki import Holder, JpkiAuthority, UserCredentials


@pytest.fixture(scope="session")
def authority(tmp_path_factory: pytest.TempPathFactory) -> JpkiAuthority:
    return JpkiAuthority.load_or_create(tmp_path_factory.mktemp("pki"), seed="ocsp-tests")


@dataclass
class Ocsp:
    clock: RigClock
    server: OcspServer
    faults: OcspFaultPlan
    authority: JpkiAuthority

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def ocsp_service(
    authority: JpkiAuthority, rig_clock: RigClock, evidence: EvidenceStore
) -> Iterator[Ocsp]:
    faults = OcspFaultPlan(slow_seconds=1.5)
    responder = OcspResponder(
        rig_clock,
        ResponderIdentity(authority.auth_ca_cert, authority.ocsp_cert, authority.ocsp_key),
        status_of=lambda serial, at: authority.status(serial, at),
        revocation_of=authority.revocations.revocation,
        faults=faults,
        evidence=evidence,
    )
    server = OcspServer(responder)
    server.start()
    yield Ocsp(rig_clock, server, faults, authority)
    server.stop()


_counter = iter(range(10_000))


def new_holder(authority: JpkiAuthority) -> UserCredentials:
    n = next(_counter)
    holder = Holder(f"ocsp-holder-{n}", "試験 太郎", "東京都千代田区1-1", date(1980, 4, 1))
    return authority.issue_user(holder, datetime(2024, 4, 1, 10, 0, tzinfo=JST))


@pytest.fixture
def holder(authority: JpkiAuthority) -> UserCredentials:
    return new_holder(authority)


def write_pem(path: Path, *certs: object) -> Path:
    from cryptography.hazmat.primitives.serialization import Encoding

    path.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in certs))  # type: ignore[attr-defined]
    return path

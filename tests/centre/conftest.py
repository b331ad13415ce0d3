"""Fixtures for the issuance centre tests: a municipal server, an OCSP responder and the
centre, each on real sockets, sharing one rig clock; kiosks connect with real TLS."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from emulators.centre import IssuanceCentre
from emulators.jpki import OcspFaultPlan, OcspResponder, OcspServer, ResponderIdentity
from emulators.municipal import MunicipalServer
from emulators.municipal.card_ap import card_key
from rig.core.clock import JST, RigClock
from rig.core.drivers.centre_client import CentreClient, SessionInfo
from rig.core.evidence import EvidenceStore
from rig.core.pki.jpki import Holder, JpkiAuthority, UserCredentials
from rig.core.pki.tls import CertPair, TlsMaterial
from rig.core.protocols import card_ap

CITY, SMALL_TOWN, KOSEKI_TOWN = "991015", "993026", "993034"
WORLD_SEED = "konbini-rig"
PIN = "4321"
_card_users = itertools.count(1)


@pytest.fixture(scope="session")
def centre_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return TlsMaterial(tmp_path_factory.mktemp("centre-tls"), seed="centre-tests")


@pytest.fixture(scope="session")
def jpki_authority(tmp_path_factory: pytest.TempPathFactory) -> JpkiAuthority:
    return JpkiAuthority.load_or_create(tmp_path_factory.mktemp("centre-pki"), seed="centre-tests")


@pytest.fixture(scope="session")
def registry_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("centre-registry-cache")


class HolderPool:
    """JPKI credentials are slow to derive (pure-Python primes): make few, reuse them."""

    def __init__(self, authority: JpkiAuthority):
        self.authority = authority
        self._made: dict[int, UserCredentials] = {}

    def get(self, n: int) -> UserCredentials:
        if n not in self._made:
            holder = Holder(
                f"centre-holder-{n}", "試験 花子", "さくら県みなと市1-1", date(1985, 6, 1)
            )
            self._made[n] = self.authority.issue_user(
                holder, datetime(2025, 4, 1, 10, 0, tzinfo=JST)
            )
        return self._made[n]


@pytest.fixture(scope="session")
def holders(jpki_authority: JpkiAuthority) -> HolderPool:
    return HolderPool(jpki_authority)


@dataclass
class CardUser:
    info: card_ap.CardApInfo
    resident_id: str
    pin: str

    def respond(self, challenge: bytes) -> bytes:
        """What the card answers to INTERNAL AUTHENTICATE."""
        return card_ap.compute_response(card_key(WORLD_SEED, self.info), self.info, challenge)


@dataclass
class CentreWorld:
    clock: RigClock
    tls: TlsMaterial
    authority: JpkiAuthority
    holders: HolderPool
    municipal: MunicipalServer
    ocsp: OcspServer
    ocsp_faults: OcspFaultPlan
    centre: IssuanceCentre
    urls: dict[str, str]
    municipal_urls: dict[str, str]
    clients: list[CentreClient] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.urls["center_url"]

    def kiosk(
        self, name: str = "kiosk-0001", pair: CertPair | None = None, **kw: Any
    ) -> CentreClient:
        client = CentreClient(
            self.url,
            client=pair if pair is not None else self.tls.kiosk_client(name),
            server_ca=self.tls.server_ca,
            **kw,
        )
        self.clients.append(client)
        return client

    def open(self, kiosk: CentreClient, kiosk_id: str = "kiosk-0001") -> SessionInfo:
        return kiosk.open_session(kiosk_id, "store-001", "konbini-a")

    def find(self, code: str, trait: str = "eligible", index: int = 0) -> str:
        return self.municipal.registry.find_resident(code, trait=trait, index=index)

    # -- JPKI ----------------------------------------------------------------------------
    def jpki_holder(self, n: int, code: str, resident_id: str) -> UserCredentials:
        creds = self.holders.get(n)
        self.municipal.registry.register_jpki_user(creds.auth_serial, resident_id)
        self.centre.register_jpki_holder(creds.auth_serial, code)
        return creds

    @staticmethod
    def sign(creds: UserCredentials, nonce: bytes) -> bytes:
        return creds.auth_key.sign(nonce, padding.PKCS1v15(), hashes.SHA256())

    def jpki_login(
        self, kiosk: CentreClient, creds: UserCredentials, kiosk_id: str = "kiosk-0001"
    ) -> SessionInfo:
        session = self.open(kiosk, kiosk_id)
        assert session.nonce is not None
        kiosk.authenticate_jpki(
            session.session_id, creds.auth_cert, self.sign(creds, session.nonce), session.nonce
        )
        return session

    # -- card AP ---------------------------------------------------------------------------
    def card_user(self, resident_id: str, pin: str = PIN) -> CardUser:
        user_id = f"CARD{next(_card_users):012d}"
        info = self.municipal.registry.register_card_ap_user(user_id, resident_id, pin)
        return CardUser(info, resident_id, pin)

    def card_login(
        self, kiosk: CentreClient, user: CardUser, kiosk_id: str = "kiosk-0001"
    ) -> SessionInfo:
        session = self.open(kiosk, kiosk_id)
        challenge = kiosk.card_ap_challenge(
            session.session_id, user.info.municipality_code, user.info.user_id
        )
        result = kiosk.authenticate_card_ap(
            session.session_id, challenge.challenge, user.respond(challenge.challenge)
        )
        assert result.pin_required
        kiosk.verify_pin(session.session_id, user.pin)
        return session

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        self.centre.stop()
        self.ocsp.stop()
        self.municipal.stop()


def make_world(
    folder: Path,
    tls: TlsMaterial,
    authority: JpkiAuthority,
    holders: HolderPool,
    cache: Path,
    clock: RigClock | None = None,
    evidence: EvidenceStore | None = None,
    **centre_kw: Any,
) -> CentreWorld:
    clock = clock or RigClock()
    municipal = MunicipalServer(
        clock, evidence, folder / "municipal", None, tls, cache_dir=cache, seed=WORLD_SEED
    )
    municipal_urls = municipal.start()
    faults = OcspFaultPlan(slow_seconds=3.0)
    responder = OcspResponder(
        clock,
        ResponderIdentity(authority.auth_ca_cert, authority.ocsp_cert, authority.ocsp_key),
        status_of=lambda serial, at: authority.status(serial, at),
        revocation_of=authority.revocations.revocation,
        faults=faults,
        evidence=evidence,
    )
    ocsp = OcspServer(responder)
    ocsp.start()
    centre = IssuanceCentre(
        clock,
        evidence,
        folder / "centre",
        tls,
        municipal_urls,
        ocsp.url,
        authority.auth_ca_cert,
        **centre_kw,
    )
    urls = centre.start()
    return CentreWorld(
        clock, tls, authority, holders, municipal, ocsp, faults, centre, urls, municipal_urls
    )


@pytest.fixture(scope="module")
def shared(
    tmp_path_factory: pytest.TempPathFactory,
    centre_tls: TlsMaterial,
    jpki_authority: JpkiAuthority,
    holders: HolderPool,
    registry_cache: Path,
) -> Iterator[CentreWorld]:
    """One world for a module's tests that leave the clock at the default start."""
    world = make_world(
        tmp_path_factory.mktemp("centre-world"), centre_tls, jpki_authority, holders, registry_cache
    )
    yield world
    world.stop()


@pytest.fixture
def world(
    tmp_path: Path,
    centre_tls: TlsMaterial,
    jpki_authority: JpkiAuthority,
    holders: HolderPool,
    registry_cache: Path,
    rig_clock: RigClock,
    evidence: EvidenceStore,
) -> Iterator[CentreWorld]:
    """A fresh world on the test's own clock and evidence store."""
    w = make_world(
        tmp_path, centre_tls, jpki_authority, holders, registry_cache, rig_clock, evidence
    )
    yield w
    w.stop()

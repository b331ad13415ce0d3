"""Fixtures for the municipal issuance server tests: TLS material, a registry cache, servers."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators.municipal import MunicipalServer, card_ap
from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.https import https_client
from rig.core.pki.tls import TlsMaterial
from rig.core.protocols.card_ap import CardApInfo, compute_response

CITY, SMALL_TOWN, KOSEKI_TOWN = "991015", "993026", "993034"
_serials = itertools.count(0x1000)


@dataclass
class World:
    server: MunicipalServer
    urls: dict[str, str]
    clock: RigClock
    tls: TlsMaterial

    def client(self, **kw: Any) -> httpx.Client:
        pair = kw.pop("client", self.tls.lgpki_client())
        return https_client(self.urls["base"], client=pair, server_ca=self.tls.server_ca, **kw)

    def jpki_login(self, client: httpx.Client, code: str, resident_id: str) -> httpx.Response:
        serial = next(_serials)
        self.server.registry.register_jpki_user(serial, resident_id)
        return client.post(f"/municipalities/{code}/auth/jpki", json={"cert_serial": f"{serial:x}"})

    def session(self, client: httpx.Client, code: str, resident_id: str) -> str:
        r = self.jpki_login(client, code, resident_id)
        assert r.status_code == 201, r.text
        sid: str = r.json()["session_id"]
        return sid

    def card_ap_login(
        self, client: httpx.Client, code: str, info: CardApInfo, *, key: bytes | None = None
    ) -> httpx.Response:
        """Challenge, answer as the card would (its key from the world seed), authenticate."""
        base = f"/municipalities/{code}/auth/card-ap"
        r = client.post(base + "/challenge", json={"user_id": info.user_id})
        assert r.status_code == 201, r.text
        challenge = bytes.fromhex(r.json()["challenge"])
        card_key = key if key is not None else card_ap.card_key(self.server.seed, info)
        response = compute_response(card_key, info, challenge)
        return client.post(
            base,
            json={
                "user_id": info.user_id,
                "challenge": challenge.hex(),
                "response": response.hex(),
            },
        )

    def find(self, code: str, trait: str, index: int = 0) -> str:
        return self.server.registry.find_resident(code, trait=trait, index=index)


def pdf_of(answer: dict[str, Any]) -> bytes:
    return base64.b64decode(answer["pdf_base64"])


@pytest.fixture(scope="session")
def muni_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return TlsMaterial(tmp_path_factory.mktemp("muni-tls"), seed="municipal-tests")


@pytest.fixture(scope="session")
def muni_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("muni-cache")


def make_world(
    state: Path,
    tls: TlsMaterial,
    cache: Path,
    clock: RigClock | None = None,
    evidence: EvidenceStore | None = None,
) -> World:
    clock = clock or RigClock()
    server = MunicipalServer(clock, evidence, state, None, tls, cache_dir=cache)
    return World(server, server.start(), clock, tls)


@pytest.fixture(scope="module")
def shared_world(
    tmp_path_factory: pytest.TempPathFactory, muni_tls: TlsMaterial, muni_cache: Path
) -> Iterator[World]:
    """One server for a module's read-mostly tests (the clock stays at the default start)."""
    world = make_world(tmp_path_factory.mktemp("muni-state"), muni_tls, muni_cache)
    yield world
    world.server.stop()


@pytest.fixture
def world(
    tmp_path: Path,
    muni_tls: TlsMaterial,
    muni_cache: Path,
    rig_clock: RigClock,
    evidence: EvidenceStore,
) -> Iterator[World]:
    """A fresh server on the test's own clock and evidence store."""
    w = make_world(tmp_path / "state", muni_tls, muni_cache, rig_clock, evidence)
    yield w
    w.server.stop()

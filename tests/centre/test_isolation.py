"""Concurrent customers never get each other's documents (the 2023 cross-talk incidents).

200 kiosk sessions for 200 different residents run at once, released together by a barrier:
authenticate (JPKI), request, download, pay, complete. Every page of every downloaded PDF
must carry the requesting resident's id in the municipality's machine-readable line.
`make test` runs 3 repetitions; the slow run (make soak) 20.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rig.core.pki.jpki import JpkiAuthority
from rig.core.pki.mint import AuthCertMint
from rig.core.pki.tls import TlsMaterial
from rig.core.protocols.centre import CertTypeName
from rig.harness.load.judge import judge_document

from .conftest import CITY, KOSEKI_TOWN, SMALL_TOWN, CentreWorld, HolderPool, make_world

SESSIONS = 200
TYPES: tuple[CertTypeName, ...] = (
    "resident_record",
    "seal_registration",
    "resident_record_entries",
)


@pytest.fixture(scope="module")
def crowd(
    tmp_path_factory: pytest.TempPathFactory,
    centre_tls: TlsMaterial,
    jpki_authority: JpkiAuthority,
    holders: HolderPool,
    registry_cache: Path,
) -> Iterator[tuple[CentreWorld, AuthCertMint, list[tuple[str, str, Any]]]]:
    w = make_world(
        tmp_path_factory.mktemp("crowd"),
        centre_tls,
        jpki_authority,
        holders,
        registry_cache,
        ocsp_timeout=120.0,
        municipal_timeout=120.0,
    )
    mint = AuthCertMint(jpki_authority, first_serial=0x5E_0000_0001, label="MINT")
    people: list[tuple[str, str, Any]] = []
    for code, share in ((CITY, 110), (SMALL_TOWN, 45), (KOSEKI_TOWN, 45)):
        for rid in w.municipal.registry.find_residents(code, "seal_registered")[:share]:
            cert = mint.mint()
            w.municipal.registry.register_jpki_user(cert.serial_number, rid)
            w.centre.register_jpki_holder(cert.serial_number, code)
            people.append((code, rid, cert))
    assert len(people) == SESSIONS
    assert len({rid for _c, rid, _ in people}) == SESSIONS
    yield w, mint, people
    w.stop()


def _one_round(
    w: CentreWorld, mint: AuthCertMint, people: list[tuple[str, str, Any]]
) -> dict[str, Any]:
    barrier = threading.Barrier(SESSIONS)
    got: dict[str, tuple[str, bytes]] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def customer(index: int, rid: str, cert: Any) -> None:
        kiosk_id = f"kiosk-{index % 40:04d}"
        try:
            with w.kiosk(kiosk_id, timeout=120) as kiosk:
                kiosk.health()  # connect (TLS) before the barrier
                barrier.wait(timeout=120)
                session = kiosk.open_session(kiosk_id, f"store-{index:03d}", "konbini-a")
                sid = session.session_id
                assert session.nonce is not None
                kiosk.authenticate_jpki(sid, cert, mint.sign(session.nonce), session.nonce)
                receipt = kiosk.request_certificate(sid, TYPES[index % len(TYPES)])
                pdf = kiosk.download(sid, receipt.request_id)
                kiosk.confirm_payment(sid, receipt.request_id, receipt.total_fee)
                kiosk.complete(sid, receipt.request_id, "printed", 1)
                kiosk.end_session(sid)
            with lock:
                got[rid] = (receipt.request_id, pdf)
        except Exception as exc:  # collected so that one failure does not hide the others
            with lock:
                errors.append(f"{rid}: {exc!r}")

    threads = [
        threading.Thread(target=customer, args=(i, rid, cert), daemon=True)
        for i, (_code, rid, cert) in enumerate(people)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    elapsed = time.perf_counter() - started
    assert errors == [], f"{len(errors)} failed: {errors[:5]}"
    assert len(got) == SESSIONS
    cross_talk = []
    codes = {rid: code for code, rid, _ in people}
    for rid, (_request_id, pdf) in got.items():
        verdict = judge_document(pdf, resident_id=rid, code=codes[rid])
        if verdict.problems:
            cross_talk.append((rid, verdict.problems))
    return {"elapsed": elapsed, "cross_talk": cross_talk, "requests": {r for r, _ in got.values()}}


def _rounds(
    crowd: tuple[CentreWorld, AuthCertMint, list[tuple[str, str, Any]]], rounds: int
) -> None:
    w, mint, people = crowd
    before = w.centre.records.count()
    for n in range(rounds):
        result = _one_round(w, mint, people)
        assert result["cross_talk"] == [], f"round {n}"
        assert len(result["requests"]) == SESSIONS
        print(f"round {n}: {SESSIONS} sessions in {result['elapsed']:.1f} s, 0 cross-talk")
    assert w.centre.records.count() == before + rounds * SESSIONS
    assert w.centre.held_documents() == 0
    assert w.centre.open_sessions() == 0


def test_200_concurrent_sessions_3_rounds(
    crowd: tuple[CentreWorld, AuthCertMint, list[tuple[str, str, Any]]],
) -> None:
    _rounds(crowd, 3)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # 20 rounds of ~15 s each: beyond the suite's 300 s default
def test_200_concurrent_sessions_20_rounds(
    crowd: tuple[CentreWorld, AuthCertMint, list[tuple[str, str, Any]]],
) -> None:
    _rounds(crowd, 20)

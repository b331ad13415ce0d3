"""JPKI authentication through the real reader stack, as a kiosk does it.

One authentication: SELECT the JPKI AP, read the authentication certificate (4-byte header,
then 255-byte chunks), VERIFY the PIN, SELECT the key, sign a SHA-256 DigestInfo. Timed on
the host side (pyscard → pcscd → vpcd → virtual card), wall clock per authentication.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import tempfile
import time
from contextlib import closing
from pathlib import Path

from emulators.card import build_card
from emulators.kiosk.card_reader import CardConnection, CardReader
from rig.core.pcsc import ReaderStack
from rig.core.pki.jpki import JpkiAuthority
from rig.core.protocols.apdu import (
    AID_JPKI,
    EF_AUTH_CERT,
    EF_AUTH_KEY,
    EF_AUTH_PIN,
    SW,
    compute_signature,
    read_binary,
    select_aid,
    select_ef,
    verify,
)
from rig.harness.bench import Figure, p99

ROUNDS = int(os.environ.get("RIG_BENCH_CARD_ROUNDS", "100"))
SEED = "bench-card"
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def _tx(card: CardConnection, apdu: bytes) -> bytes:
    r = card.transmit(apdu)
    if r.sw != SW.OK:
        raise RuntimeError(f"{apdu[:4].hex()}: SW {r.sw:04X}")
    return r.data


def authenticate(card: CardConnection, pin: str) -> None:
    _tx(card, select_aid(AID_JPKI))
    _tx(card, select_ef(EF_AUTH_CERT))
    head = _tx(card, read_binary(0, 4))
    total = ((head[2] << 8) | head[3]) + 4
    got = 4
    while got < total:
        got += len(_tx(card, read_binary(got, min(0xFF, total - got))))
    _tx(card, select_ef(EF_AUTH_PIN))
    _tx(card, verify(pin))
    _tx(card, select_ef(EF_AUTH_KEY))
    digest = SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(b"bench").digest()
    if len(_tx(card, compute_signature(digest))) != 256:
        raise RuntimeError("signature of the wrong length")


def measure() -> list[Figure]:
    folder = Path(os.environ.get("RIG_WORK_DIR", Path(tempfile.gettempdir()) / "rig-bench"))
    with tempfile.TemporaryDirectory(prefix="rig-bench-card-") as state:
        authority = JpkiAuthority.load_or_create(folder, SEED, state_dir=Path(state))
        built = build_card("mynumber-valid", authority, seed=SEED)
    stack = ReaderStack.shared()
    slot = stack.acquire()
    try:
        slot.insert(built.card)
        # the kiosk's own reader code: an authentication as the reference kiosk does it
        reader = CardReader(slot.reader_name)
        try:
            with closing(reader.connect()) as card:
                authenticate(card, built.pins["auth_pin"])  # warm-up
                samples = []
                for _ in range(ROUNDS):
                    start = time.perf_counter()
                    authenticate(card, built.pins["auth_pin"])
                    samples.append((time.perf_counter() - start) * 1000)
        finally:
            reader.close()
    finally:
        slot.release()
    return [
        Figure("jpki_auth_ms_median", statistics.median(samples), "ms"),
        Figure("jpki_auth_ms_p99", p99(samples), "ms"),
    ]

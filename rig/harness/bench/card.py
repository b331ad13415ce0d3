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
from pathlib import Path

from smartcard.scard import (
    SCARD_LEAVE_CARD,
    SCARD_PROTOCOL_T0,
    SCARD_PROTOCOL_T1,
    SCARD_S_SUCCESS,
    SCARD_SCOPE_USER,
    SCARD_SHARE_SHARED,
    SCardConnect,
    SCardDisconnect,
    SCardEstablishContext,
    SCardReleaseContext,
    SCardTransmit,
)

from emulators.card import build_card
from rig.core.pcsc import ReaderStack
from rig.core.pki.jpki import JpkiAuthority
from rig.core.protocols.apdu import (
    AID_JPKI,
    EF_AUTH_CERT,
    EF_AUTH_KEY,
    EF_AUTH_PIN,
    SW,
    ResponseAPDU,
    compute_signature,
    read_binary,
    select_aid,
    select_ef,
    verify,
)
from rig.harness.bench import Figure

ROUNDS = int(os.environ.get("RIG_BENCH_CARD_ROUNDS", "100"))
SEED = "bench-card"
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


class _Host:
    def __init__(self, reader: str):
        rv, self.ctx = SCardEstablishContext(SCARD_SCOPE_USER)
        if rv != SCARD_S_SUCCESS:
            raise RuntimeError(f"SCardEstablishContext: {rv:#x}")
        rv, self.handle, self.proto = SCardConnect(
            self.ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1
        )
        if rv != SCARD_S_SUCCESS:
            raise RuntimeError(f"SCardConnect: {rv:#x}")

    def tx(self, apdu: bytes, expect: int = SW.OK) -> bytes:
        rv, data = SCardTransmit(self.handle, self.proto, list(apdu))
        if rv != SCARD_S_SUCCESS:
            raise RuntimeError(f"SCardTransmit: {rv:#x}")
        r = ResponseAPDU.parse(bytes(data))
        if r.sw != expect:
            raise RuntimeError(f"{apdu[:4].hex()}: SW {r.sw:04X}")
        return r.data

    def close(self) -> None:
        SCardDisconnect(self.handle, SCARD_LEAVE_CARD)
        SCardReleaseContext(self.ctx)


def authenticate(host: _Host, pin: str) -> None:
    host.tx(select_aid(AID_JPKI))
    host.tx(select_ef(EF_AUTH_CERT))
    head = host.tx(read_binary(0, 4))
    total = ((head[2] << 8) | head[3]) + 4
    got = 4
    while got < total:
        got += len(host.tx(read_binary(got, min(0xFF, total - got))))
    host.tx(select_ef(EF_AUTH_PIN))
    host.tx(verify(pin))
    host.tx(select_ef(EF_AUTH_KEY))
    digest = SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(b"bench").digest()
    if len(host.tx(compute_signature(digest))) != 256:
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
        host = _Host(slot.reader_name)
        try:
            authenticate(host, built.pins["auth_pin"])  # warm-up
            samples = []
            for _ in range(ROUNDS):
                start = time.perf_counter()
                authenticate(host, built.pins["auth_pin"])
                samples.append((time.perf_counter() - start) * 1000)
        finally:
            host.close()
    finally:
        slot.release()
    samples.sort()
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return [
        Figure("jpki_auth_ms_median", statistics.median(samples), "ms"),
        Figure("jpki_auth_ms_p99", p99, "ms"),
    ]

"""APDU round trip through pyscard → pcscd → vpcd → vicc, the rig's link against a plain vicc."""

from __future__ import annotations

import contextlib
import logging
import statistics
import threading
import time

from smartcard.scard import (
    SCARD_LEAVE_CARD,
    SCARD_PROTOCOL_T0,
    SCARD_PROTOCOL_T1,
    SCARD_SCOPE_USER,
    SCARD_SHARE_SHARED,
    SCARD_STATE_EMPTY,
    SCARD_STATE_PRESENT,
    SCardConnect,
    SCardDisconnect,
    SCardEstablishContext,
    SCardReleaseContext,
    SCardTransmit,
)

from rig.core.pcsc import ReaderStack, VirtualCardSlot, wait_reader_state
from rig.core.pcsc.loopback import LoopbackCard
from rig.harness.bench import Figure

APDU = [0x00, 0xB0, 0x00, 0x00, 0x00]


def round_trips_ms(reader: str, count: int) -> list[float]:
    _, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
    rv, handle, proto = SCardConnect(
        ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1
    )
    if rv != 0:
        raise RuntimeError(f"SCardConnect {rv:#x}")
    samples = []
    try:
        for _ in range(count):
            began = time.perf_counter()
            rv, _resp = SCardTransmit(handle, proto, APDU)
            samples.append((time.perf_counter() - began) * 1000)
            if rv != 0:
                raise RuntimeError(f"SCardTransmit {rv:#x}")
    finally:
        SCardDisconnect(handle, SCARD_LEAVE_CARD)
        SCardReleaseContext(ctx)
    return samples


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def plain_vicc_samples(slot: VirtualCardSlot, count: int) -> list[float]:
    """The same card behind vsmartcard's own VirtualICC, unmodified but for its OS object."""
    from virtualsmartcard.VirtualSmartcard import VirtualICC

    vicc = VirtualICC(None, "iso7816", slot.vicc_host, slot.port, logginglevel=logging.ERROR)
    vicc.os = LoopbackCard(keep=False)

    def serve() -> None:
        # VirtualICC.run ends by raising once its socket is closed under it
        with contextlib.suppress(Exception, SystemExit):
            vicc.run()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        wait_reader_state(slot.reader_name, SCARD_STATE_PRESENT, 10)
        return round_trips_ms(slot.reader_name, count)
    finally:
        vicc.stop()
        thread.join(5)
        wait_reader_state(slot.reader_name, SCARD_STATE_EMPTY, 10)


def measure() -> list[Figure]:
    stack = ReaderStack.shared()
    slot = stack.acquire()
    try:
        slot.insert(LoopbackCard(keep=False))
        rig = round_trips_ms(slot.reader_name, 5000)
        slot.remove()
        plain = plain_vicc_samples(slot, 100)  # ~48 ms each: a hundred is plenty
    finally:
        slot.release()
    rig_median = statistics.median(rig)
    plain_median = statistics.median(plain)
    return [
        Figure("apdu_rtt_median_ms", rig_median, "ms"),
        Figure("apdu_rtt_p99_ms", p99(rig), "ms"),
        Figure("apdu_rtt_plain_vicc_median_ms", plain_median, "ms"),
        Figure("apdu_rtt_plain_over_rig_ratio", plain_median / rig_median, "x"),
    ]

"""The reader stack seen from the host side, through pyscard and pcscd, as a kiosk sees it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from smartcard.CardMonitoring import CardMonitor, CardMonitoringThread, CardObserver
from smartcard.scard import (
    SCARD_LEAVE_CARD,
    SCARD_PROTOCOL_T0,
    SCARD_PROTOCOL_T1,
    SCARD_S_SUCCESS,
    SCARD_SCOPE_USER,
    SCARD_SHARE_SHARED,
    SCARD_STATE_MUTE,
    SCARD_STATE_PRESENT,
    SCARD_STATE_UNAWARE,
    SCARD_UNPOWER_CARD,
    SCARD_W_REMOVED_CARD,
    SCARD_W_UNPOWERED_CARD,
    SCARD_W_UNRESPONSIVE_CARD,
    SCardCancel,
    SCardConnect,
    SCardDisconnect,
    SCardEstablishContext,
    SCardGetStatusChange,
    SCardReleaseContext,
    SCardTransmit,
)

from rig.core.evidence import EvidenceStore
from rig.core.pcsc import PcscStackError, ReaderStack, VirtualCardSlot
from rig.core.pcsc.daemon import READER_PREFIX, running_pcscd_pid
from tests.pcsc.cards import JPKI_LIKE_ATR, AtrCountingCard, EchoCard

PROTOCOLS = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1
SELECT = [0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00]


@pytest.fixture
def context() -> Iterator[int]:
    rv, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
    assert rv == SCARD_S_SUCCESS
    yield ctx
    SCardReleaseContext(ctx)


def connect(ctx: int, reader: str) -> tuple[int, int]:
    rv, handle, proto = SCardConnect(ctx, reader, SCARD_SHARE_SHARED, PROTOCOLS)
    assert rv == SCARD_S_SUCCESS, f"SCardConnect: {rv:#x}"
    return handle, proto


def reader_state(ctx: int, reader: str) -> int:
    rv, states = SCardGetStatusChange(ctx, 0, [(reader, SCARD_STATE_UNAWARE)])
    assert rv == SCARD_S_SUCCESS
    return int(states[0][1])


def test_only_rig_readers_are_used(reader_stack: ReaderStack) -> None:
    readers = reader_stack.readers()
    assert len(readers) >= 8
    assert all(r.startswith(READER_PREFIX) for r in readers)
    assert len({reader_stack.reader_port(r) for r in readers}) == len(readers)


def test_insert_and_remove_seen_by_card_monitor(card_slot: VirtualCardSlot) -> None:
    events: list[tuple[str, str]] = []
    inserted = threading.Event()
    seen = threading.Event()

    class Watcher(CardObserver):  # type: ignore[misc]
        def update(self, observable: Any, handlers: Any) -> None:
            added, removed = handlers
            for card in added:
                if str(card.reader) == card_slot.reader_name:
                    events.append(("inserted", bytes(card.atr).hex()))
                    inserted.set()
            for card in removed:
                if str(card.reader) == card_slot.reader_name:
                    events.append(("removed", ""))
                    seen.set()

    monitor = CardMonitor()
    watcher = Watcher()
    monitor.addObserver(watcher)
    try:
        card_slot.insert(EchoCard())
        # pyscard's monitor compares the cards it saw at two looks; a card placed and taken
        # away between them (the rig's reader driver shows both within ~10 ms) is no change
        assert inserted.wait(5), f"no insertion event, got {events}"
        card_slot.remove()
        assert seen.wait(5), f"no removal event, got {events}"
    finally:
        monitor.deleteObserver(watcher)
        _stop_card_monitoring(monitor)
    assert events == [("inserted", JPKI_LIKE_ATR.hex()), ("removed", "")]


def _stop_card_monitoring(monitor: Any) -> None:
    """End pyscard's monitoring thread now.

    pyscard starts it with the first CardMonitor and never stops it (`_START_ON_DEMAND_` is
    False); left running it waits on pcscd until the session's pcscd stops, then prints a
    "Service not available" traceback. Its stop flag is read only between waits, so the wait
    is cancelled until the thread has seen it.
    """
    thread = monitor.rmthread
    thread.stop()
    for _ in range(100):
        request = thread.cardrequest
        if request is not None and request.pcsccardrequest.hcontext is not None:
            SCardCancel(request.pcsccardrequest.hcontext)
        CardMonitoringThread.instance.join(0.05)
        if not CardMonitoringThread.instance.is_alive():
            break
    assert not CardMonitoringThread.instance.is_alive(), "pyscard's monitoring thread did not stop"
    thread.join()  # forgets the singleton, so a later CardMonitor starts a fresh thread
    CardMonitor.instance = None


def test_atr_and_state(card_slot: VirtualCardSlot, context: int) -> None:
    card = EchoCard()
    card_slot.insert(card)
    assert reader_state(context, card_slot.reader_name) & SCARD_STATE_PRESENT
    handle, _ = connect(context, card_slot.reader_name)
    try:
        assert card.power_ups >= 1
    finally:
        SCardDisconnect(handle, SCARD_LEAVE_CARD)
    rv, states = SCardGetStatusChange(context, 0, [(card_slot.reader_name, SCARD_STATE_UNAWARE)])
    assert rv == SCARD_S_SUCCESS
    assert bytes(states[0][2]) == JPKI_LIKE_ATR


def test_ten_thousand_apdus(card_slot: VirtualCardSlot, context: int) -> None:
    card = EchoCard()
    card_slot.insert(card)
    handle, proto = connect(context, card_slot.reader_name)
    try:
        for i in range(10_000):
            apdu = [0x00, 0xB0, (i >> 8) & 0x7F, i & 0xFF, 0x00]
            rv, response = SCardTransmit(handle, proto, apdu)
            assert rv == SCARD_S_SUCCESS
            assert response == [*apdu[:4], 0x90, 0x00]
    finally:
        SCardDisconnect(handle, SCARD_LEAVE_CARD)
    assert len(card.seen) == 10_000


def test_eight_readers_used_concurrently(reader_stack: ReaderStack) -> None:
    slots = [reader_stack.acquire() for _ in range(8)]
    cards = [EchoCard() for _ in slots]
    errors: list[str] = []
    try:
        for slot, card in zip(slots, cards, strict=True):
            slot.insert(card, wait=False)
        for slot in slots:
            from rig.core.pcsc import wait_reader_state

            wait_reader_state(slot.reader_name, SCARD_STATE_PRESENT, 10)

        def worker(n: int, slot: VirtualCardSlot) -> None:
            rv, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
            handle, proto = connect(ctx, slot.reader_name)
            try:
                for i in range(300):
                    apdu = [0x80, 0x10 + n, i >> 8, i & 0xFF, 0x00]
                    rv, resp = SCardTransmit(handle, proto, apdu)
                    if rv != SCARD_S_SUCCESS or resp != [*apdu[:4], 0x90, 0x00]:
                        errors.append(f"reader {n} apdu {i}: {rv:#x} {resp}")
                        return
            finally:
                SCardDisconnect(handle, SCARD_LEAVE_CARD)
                SCardReleaseContext(ctx)

        threads = [threading.Thread(target=worker, args=(n, s)) for n, s in enumerate(slots)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        # every card saw only its own reader's traffic
        for n, card in enumerate(cards):
            assert len(card.seen) == 300
            assert {apdu[1] for apdu in card.seen} == {0x10 + n}
    finally:
        for slot in slots:
            slot.release()


def test_mute_card_is_present_but_unresponsive(card_slot: VirtualCardSlot, context: int) -> None:
    card_slot.insert(EchoCard(), mute=True)
    state = reader_state(context, card_slot.reader_name)
    assert state & SCARD_STATE_PRESENT and state & SCARD_STATE_MUTE
    rv, _, _ = SCardConnect(context, card_slot.reader_name, SCARD_SHARE_SHARED, PROTOCOLS)
    assert rv in (SCARD_W_UNPOWERED_CARD, SCARD_W_UNRESPONSIVE_CARD)


def test_card_pulled_out_mid_command(card_slot: VirtualCardSlot, context: int) -> None:
    card = EchoCard()
    card_slot.insert(card)
    handle, proto = connect(context, card_slot.reader_name)
    try:
        card_slot.pull_out_mid_command()
        rv, response = SCardTransmit(handle, proto, SELECT)
        # the command reached the card, no response came back (vpcd reports it as empty)
        assert card.seen == [] or card.seen[-1] != bytes(SELECT)
        assert rv != SCARD_S_SUCCESS or response == []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            rv, response = SCardTransmit(handle, proto, SELECT)
            if rv == SCARD_W_REMOVED_CARD:
                break
            time.sleep(0.1)
        assert rv == SCARD_W_REMOVED_CARD
    finally:
        SCardDisconnect(handle, SCARD_LEAVE_CARD)
    card_slot.forget_pulled_card()
    card_slot.insert(EchoCard())
    handle, proto = connect(context, card_slot.reader_name)
    try:
        rv, response = SCardTransmit(handle, proto, SELECT)
        assert (rv, response[-2:]) == (SCARD_S_SUCCESS, [0x90, 0x00])
    finally:
        SCardDisconnect(handle, SCARD_LEAVE_CARD)


class SecretCard(EchoCard):
    """Answers READ BINARY with a 'certificate' that must never reach the evidence."""

    SECRET = b"CERTIFICATE-BODY-123456789012"

    def execute(self, msg: bytes) -> bytes:
        if msg[1:2] == b"\xb0":
            return self.SECRET + b"\x90\x00"
        return super().execute(msg)


def test_apdu_trace_masks_pin_and_keeps_response_data_out(
    card_slot: VirtualCardSlot, context: int, evidence: EvidenceStore
) -> None:
    card_slot.insert(SecretCard())
    handle, proto = connect(context, card_slot.reader_name)
    try:
        SCardTransmit(handle, proto, [0x00, 0x20, 0x00, 0x80, 0x04, *b"4821"])
        _, response = SCardTransmit(handle, proto, [0x00, 0xB0, 0x00, 0x00, 0x00])
        assert bytes(response[:-2]) == SecretCard.SECRET  # the host does get the data
    finally:
        SCardDisconnect(handle, SCARD_LEAVE_CARD)
    records = list(evidence.records("apdu"))
    assert [r["command"][:8] for r in records] == ["00200080", "00b00000"]
    assert records[0]["command"] == "0020008004***(4 bytes)"
    assert records[1]["response_len"] == len(SecretCard.SECRET) + 2
    assert records[1]["sw"] == "9000"
    text = (evidence.folder / "apdu.jsonl").read_text()
    assert b"4821".hex() not in text and "4821" not in text
    assert SecretCard.SECRET.hex() not in text and "CERTIFICATE" not in text


def test_one_byte_command_is_answered_not_hung(card_slot: VirtualCardSlot, context: int) -> None:
    """vpcd frames control codes as 1-byte payloads; other 1-byte commands must still get an
    answer, or vpcd would wait for ever. (00, 01, 02 and 04 alone are indistinguishable from
    vpcd's control codes: docs/reader-stack.md.)"""
    card = EchoCard()
    card_slot.insert(card)
    handle, proto = connect(context, card_slot.reader_name)
    try:
        rv, response = SCardTransmit(handle, proto, [0x80])
        assert rv == SCARD_S_SUCCESS and card.seen[-1] == b"\x80"
        rv, response = SCardTransmit(handle, proto, SELECT)
        assert (rv, response[-2:]) == (SCARD_S_SUCCESS, [0x90, 0x00])
    finally:
        SCardDisconnect(handle, SCARD_LEAVE_CARD)


CHILD = textwrap.dedent(
    """
    import sys, time
    from rig.core.pcsc import ReaderStack
    from tests.pcsc.cards import EchoCard
    stack = ReaderStack.shared()
    index = None if sys.argv[1] == "any" else int(sys.argv[1])
    try:
        slot = stack.acquire(index=index, timeout=float(sys.argv[2]))
    except Exception as exc:
        print("BUSY", type(exc).__name__, exc)
        sys.exit(0)
    slot.insert(EchoCard())
    print("GOT", stack.readers().index(slot.reader_name), flush=True)
    # leave with the card inserted: the stack must clean up after itself
    """
)


def run_child(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )


def test_processes_never_share_a_reader(card_slot: VirtualCardSlot) -> None:
    assert card_slot.stack is not None
    held = card_slot.stack.readers().index(card_slot.reader_name)
    result = run_child(str(held), "1")
    assert "BUSY PcscStackError" in result.stdout, result.stdout + result.stderr
    # the refusal names the reader, its port and the process that holds it
    assert f"{card_slot.reader_name!r} (vpcd port {card_slot.port})" in result.stdout
    assert f"is held by process {os.getpid()} (" in result.stdout
    assert "still after 1 s: two rig processes never share a reader" in result.stdout


def test_a_wait_for_a_held_reader_is_announced_once(card_slot: VirtualCardSlot) -> None:
    assert card_slot.stack is not None
    held = card_slot.stack.readers().index(card_slot.reader_name)
    told: list[str] = []
    with pytest.raises(PcscStackError, match=r"is held by this process, still after 0.3 s: "):
        card_slot.stack.acquire(index=held, timeout=0.3, waiting=told.append)
    assert len(told) == 1 and told[0].startswith("waiting up to 0.3 s: rig reader"), told


def test_child_process_leaves_no_strays(card_slot: VirtualCardSlot) -> None:
    assert card_slot.stack is not None
    pcscd_before = running_pcscd_pid()
    result = run_child("any", "60")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("GOT"), result.stdout + result.stderr
    used = int(result.stdout.split()[1])
    assert card_slot.stack.readers()[used] != card_slot.reader_name
    # the child exited (its vicc threads ended); this process still uses pcscd, so it stays
    assert running_pcscd_pid() == pcscd_before
    # the reader the child used is free again and its card is gone
    slot = card_slot.stack.acquire(index=used, timeout=60)
    try:
        _, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
        assert _wait_empty(ctx, slot.reader_name)
        SCardReleaseContext(ctx)
    finally:
        slot.release()


def _wait_empty(ctx: int, reader: str) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not reader_state(ctx, reader) & SCARD_STATE_PRESENT:
            return True
        time.sleep(0.1)
    return False


def test_unpowering_the_card_does_not_set_the_reader_asking_it_in_a_loop(
    card_slot: VirtualCardSlot, context: int
) -> None:
    """pcscd asks the reader driver to end its card-event wait after a disconnect that
    unpowers the card (the kiosk's, after every transaction). A driver that then ended every
    later wait too had pcscd ask the card ~12,000 times a second, and every APDU on that
    reader waited 5-60 ms behind those questions."""
    card = AtrCountingCard()
    card_slot.insert(card)
    handle, _ = connect(context, card_slot.reader_name)
    assert SCardDisconnect(handle, SCARD_UNPOWER_CARD) == SCARD_S_SUCCESS
    time.sleep(0.1)  # pcscd looks at the card again once
    asked = card.atr_asked
    time.sleep(0.5)
    assert card.atr_asked - asked <= 5, f"{card.atr_asked - asked} questions in 0.5 s"


def test_a_second_release_leaves_the_reader_to_its_new_holder(reader_stack: ReaderStack) -> None:
    first = reader_stack.acquire()
    index = reader_stack.readers().index(first.reader_name)
    first.release()
    second = reader_stack.acquire(index=index, timeout=5)
    try:
        first.release()
        with pytest.raises(PcscStackError, match="is held by this process"):
            reader_stack.acquire(index=index, timeout=0.2)
    finally:
        second.release()

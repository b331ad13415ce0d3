"""The rig's reader driver (rig/core/pcsc/driver/rig_vpcd_wait.c): vpcd plus a card-event
wait, so pcscd sees a card placed or removed at once instead of at its next 400 ms poll.

The driver is loaded here as pcscd loads it (a shared library with the IFD handler API),
beside its own copy of Debian's vpcd, and driven through that API: no pcscd is involved, so
these tests say what the driver does, and tests/pcsc/test_reader_stack.py what pcscd does
with it. A wait that did not notice the card would only return at its 60 s time-out: the
joins below give it 20 s.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest

from rig.core.pcsc.daemon import RIG_DRIVER, VPCD_DRIVER
from rig.core.pcsc.loopback import LoopbackCard
from rig.core.pcsc.vicc import ViccLink
from tests.pcsc.cards import AtrCountingCard
from tests.rig_process import free_ports

DWORD = ctypes.c_ulong
RESPONSECODE = ctypes.c_long
IFD_SUCCESS, IFD_ICC_PRESENT, IFD_ICC_NOT_PRESENT = 0, 615, 616
TAG_IFD_STOP_POLLING_THREAD = 0x0FB2
TAG_IFD_POLLING_THREAD_WITH_TIMEOUT = 0x0FB3
#: the driver's functions as pcscd calls them: wait(Lun, timeout_ms), stop(Lun)
WaitFunction = Callable[[int, int], int]
StopFunction = Callable[[int], int]
WAIT_MS = 60_000
JOIN_S = 20


class IoHeader(ctypes.Structure):
    _fields_ = [("Protocol", DWORD), ("Length", DWORD)]


class Driver:
    def __init__(self, folder: Path, port: int):
        # the driver finds vpcd by its own file name: librigvpcd-N.so → libifdvpcd-N.so
        shutil.copyfile(RIG_DRIVER, folder / "librigvpcd-7.so")
        shutil.copyfile(VPCD_DRIVER, folder / "libifdvpcd-7.so")
        self.lib = ctypes.CDLL(str(folder / "librigvpcd-7.so"), mode=ctypes.RTLD_LOCAL)
        for name in ("IFDHCreateChannelByName", "IFDHICCPresence", "IFDHCloseChannel"):
            getattr(self.lib, name).restype = RESPONSECODE
        self.lib.IFDHGetCapabilities.restype = RESPONSECODE
        self.lib.IFDHTransmitToICC.restype = RESPONSECODE
        self.port = port
        device = f"/dev/null:{port}".encode()
        assert self.lib.IFDHCreateChannelByName(DWORD(0), device) == IFD_SUCCESS

    def presence(self) -> int:
        return int(self.lib.IFDHICCPresence(DWORD(0)))

    def function(self, tag: int) -> int:
        value = ctypes.c_void_p()
        length = DWORD(ctypes.sizeof(value))
        got = self.lib.IFDHGetCapabilities(
            DWORD(0), DWORD(tag), ctypes.byref(length), ctypes.byref(value)
        )
        assert got == IFD_SUCCESS and value.value, f"tag {tag:#x} not offered"
        return value.value

    def wait(self) -> WaitFunction:
        prototype = ctypes.CFUNCTYPE(RESPONSECODE, DWORD, ctypes.c_int)
        return cast(WaitFunction, prototype(self.function(TAG_IFD_POLLING_THREAD_WITH_TIMEOUT)))

    def stop(self) -> StopFunction:
        prototype = ctypes.CFUNCTYPE(RESPONSECODE, DWORD)
        return cast(StopFunction, prototype(self.function(TAG_IFD_STOP_POLLING_THREAD)))

    def transmit(self, apdu: bytes) -> bytes:
        answer = ctypes.create_string_buffer(258)
        length = DWORD(len(answer))
        received = IoHeader(1, ctypes.sizeof(IoHeader))
        got = self.lib.IFDHTransmitToICC(
            DWORD(0), IoHeader(1, ctypes.sizeof(IoHeader)), apdu, DWORD(len(apdu)),
            answer, ctypes.byref(length), ctypes.byref(received),
        )  # fmt: skip
        assert got == IFD_SUCCESS
        return answer.raw[: length.value]

    def close(self) -> None:
        self.lib.IFDHCloseChannel(DWORD(0))


@pytest.fixture(scope="module")
def pcscd_log(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    """vpcd logs through `log_msg`, which pcscd itself exports to its drivers: outside pcscd
    a do-nothing one stands in (made visible to every library loaded after it)."""
    folder = tmp_path_factory.mktemp("pcscd-log")
    (folder / "log.c").write_text("void log_msg(const int p, const char *f, ...) {}\n")
    built = subprocess.run(
        ["gcc", "-shared", "-fPIC", "-o", str(folder / "liblog.so"), str(folder / "log.c")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    return ctypes.CDLL(str(folder / "liblog.so"), mode=ctypes.RTLD_GLOBAL)


@pytest.fixture
def driver(tmp_path: Path, pcscd_log: ctypes.CDLL) -> Iterator[Driver]:
    assert RIG_DRIVER.exists(), "make setup builds the rig's reader driver"
    d = Driver(tmp_path, free_ports(1)[0])
    try:
        yield d
    finally:
        d.close()


def _in_thread(wait: WaitFunction) -> tuple[threading.Thread, dict[str, int]]:
    result: dict[str, int] = {}
    thread = threading.Thread(target=lambda: result.update(code=wait(0, WAIT_MS)), daemon=True)
    thread.start()
    return thread, result


def test_the_wait_ends_when_a_card_is_placed_and_when_it_is_removed(driver: Driver) -> None:
    assert driver.presence() == IFD_ICC_NOT_PRESENT  # what pcscd saw last
    thread, result = _in_thread(driver.wait())
    link = ViccLink(LoopbackCard(), "127.0.0.1", driver.port)
    link.open()
    try:
        thread.join(JOIN_S)
        assert not thread.is_alive(), "the wait did not notice the card placed"
        assert result == {"code": IFD_SUCCESS}
        assert driver.presence() == IFD_ICC_PRESENT
        thread, result = _in_thread(driver.wait())
    finally:
        link.close()
    thread.join(JOIN_S)
    assert not thread.is_alive(), "the wait did not notice the card removed"
    assert driver.presence() == IFD_ICC_NOT_PRESENT


def test_a_change_before_the_wait_begins_is_not_missed(driver: Driver) -> None:
    """pcscd checks the card, then calls the wait: a card placed in between must end the
    wait at once (it compares with what pcscd last saw, not with the card at its start)."""
    assert driver.presence() == IFD_ICC_NOT_PRESENT
    link = ViccLink(LoopbackCard(), "127.0.0.1", driver.port)
    link.open()
    try:
        thread, result = _in_thread(driver.wait())
        thread.join(JOIN_S)
        assert not thread.is_alive() and result == {"code": IFD_SUCCESS}
    finally:
        link.close()


def test_a_card_swapped_between_two_polls_shows_pcscd_the_removal_first(
    driver: Driver,
) -> None:
    """One card taken away and another placed before the wait looks: vpcd answers "absent"
    once (the old link is dead), then "present". pcscd must be told "absent" too, or it
    sees "present" twice and never powers up the new card (the kiosk then never sees it)."""
    first = ViccLink(LoopbackCard(), "127.0.0.1", driver.port)
    first.open()
    assert driver.presence() == IFD_ICC_PRESENT
    first.close()
    second = ViccLink(LoopbackCard(), "127.0.0.1", driver.port)
    second.open()  # waits in vpcd's accept queue
    try:
        thread, result = _in_thread(driver.wait())
        thread.join(JOIN_S)
        assert not thread.is_alive() and result == {"code": IFD_SUCCESS}
        assert driver.presence() == IFD_ICC_NOT_PRESENT  # what ended the wait
        assert driver.presence() == IFD_ICC_PRESENT  # then the new card
    finally:
        second.close()


def test_stopping_ends_the_wait_once(driver: Driver) -> None:
    """pcscd asks the wait to end when it removes the reader and after every SCardDisconnect
    with SCARD_UNPOWER_CARD (the kiosk's at the end of each transaction). It ends one wait:
    a later one that ended at once too would have pcscd ask the card in a loop."""
    assert driver.presence() == IFD_ICC_NOT_PRESENT
    thread, _ = _in_thread(driver.wait())
    driver.stop()(0)
    thread.join(JOIN_S)
    assert not thread.is_alive(), "pcscd would hang removing the reader"
    started = time.monotonic()
    assert driver.wait()(0, 300) == IFD_SUCCESS
    assert time.monotonic() - started >= 0.25, "a stop ended more than one wait"


def test_a_stop_between_two_waits_ends_the_next_one(driver: Driver) -> None:
    """pcscd may be between two waits when it stops the reader's thread."""
    assert driver.presence() == IFD_ICC_NOT_PRESENT
    driver.stop()(0)
    thread, _ = _in_thread(driver.wait())
    thread.join(JOIN_S)
    assert not thread.is_alive()
    started = time.monotonic()
    assert driver.wait()(0, 300) == IFD_SUCCESS
    assert time.monotonic() - started >= 0.25


def test_commands_while_the_wait_polls_get_their_own_answers(driver: Driver) -> None:
    card = LoopbackCard()
    link = ViccLink(card, "127.0.0.1", driver.port)
    link.open()
    try:
        assert driver.presence() == IFD_ICC_PRESENT
        thread, _ = _in_thread(driver.wait())  # polls the card while the commands go
        for n in range(300):
            apdu = bytes([0x00, 0xB0, n >> 8, n & 0xFF, 0x00])
            assert driver.transmit(apdu) == apdu[:4] + b"\x90\x00"
        assert thread.is_alive()  # nothing changed: still waiting
        driver.stop()(0)
        thread.join(JOIN_S)
        assert not thread.is_alive()
    finally:
        link.close()


def test_a_card_that_stays_is_not_asked_while_the_wait_runs(driver: Driver) -> None:
    """Each of vpcd's presence checks is a round trip to the card under the driver's lock, so
    APDUs sent meanwhile wait for it: while pcscd knows the card is there, the wait watches
    the link and asks the card nothing (with a 10 ms poll it would ask ~30 times here)."""
    card = AtrCountingCard()
    link = ViccLink(card, "127.0.0.1", driver.port)
    link.open()
    try:
        assert driver.presence() == IFD_ICC_PRESENT  # pcscd's own look asks the card
        asked = card.atr_asked
        assert asked >= 1
        assert driver.wait()(0, 300) == IFD_SUCCESS  # nothing changes: the time-out ends it
        assert card.atr_asked == asked
        thread, _ = _in_thread(driver.wait())
    finally:
        link.close()
    thread.join(JOIN_S)
    assert not thread.is_alive(), "the wait did not notice the card taken away"
    assert driver.presence() == IFD_ICC_NOT_PRESENT

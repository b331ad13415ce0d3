"""The rig's reader stack: pyscard → pcscd → vpcd → (our) vicc → a virtual card.

`ReaderStack.shared()` brings the stack up once per process. `acquire()` hands out a
`VirtualCardSlot`: one virtual reader, locked to this process with a file lock so that
pytest-xdist workers (or two rig processes) never share a reader. Only readers whose name
starts with the rig's prefix are ever used; real readers on the machine are left alone.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from smartcard.scard import (
    SCARD_E_TIMEOUT,
    SCARD_S_SUCCESS,
    SCARD_SCOPE_USER,
    SCARD_STATE_EMPTY,
    SCARD_STATE_MUTE,
    SCARD_STATE_PRESENT,
    SCARD_STATE_UNAWARE,
    SCardEstablishContext,
    SCardGetStatusChange,
    SCardListReaders,
    SCardReleaseContext,
)

from rig.core.evidence import EvidenceStore
from rig.core.pcsc.card_os import CardOS
from rig.core.pcsc.daemon import (
    READER_PREFIX,
    SLOTS_PER_ENTRY,
    PcscDaemon,
    PcscStackError,
    StackConfig,
    port_taken,
)
from rig.core.pcsc.trace import trace_apdu
from rig.core.pcsc.vicc import LinkMode, ViccLink

__all__ = ["ReaderStack", "VirtualCardSlot"]


def list_readers() -> list[str]:
    """Every PC/SC reader pcscd reports (empty when none or pcscd is absent)."""
    rv, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
    if rv != SCARD_S_SUCCESS:
        return []
    try:
        rv, readers = SCardListReaders(ctx, [])
        return list(readers) if rv == SCARD_S_SUCCESS else []
    finally:
        SCardReleaseContext(ctx)


def wait_reader_state(reader: str, wanted: int, timeout: float) -> int:
    """Block until the reader's event state has any bit of `wanted`; return the state."""
    rv, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
    if rv != SCARD_S_SUCCESS:
        raise PcscStackError(f"SCardEstablishContext failed: {rv:#x}")
    try:
        state = SCARD_STATE_UNAWARE
        deadline = time.monotonic() + timeout
        while True:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            rv, states = SCardGetStatusChange(ctx, remaining_ms, [(reader, state)])
            if rv == SCARD_E_TIMEOUT:
                raise TimeoutError(f"{reader}: state {wanted:#x} not reached in {timeout} s")
            if rv != SCARD_S_SUCCESS:
                raise PcscStackError(f"SCardGetStatusChange failed: {rv:#x}")
            _, event_state, _ = states[0]
            if event_state & wanted:
                return int(event_state)
            state = event_state
    finally:
        SCardReleaseContext(ctx)


class VirtualCardSlot:
    """One virtual reader of the rig: insert and remove virtual cards as a person would."""

    def __init__(
        self,
        stack: ReaderStack | None,
        index: int,
        reader_name: str,
        port: int,
        lock: IO[str] | None,
        vicc_host: str | None = None,
    ):
        self.stack = stack
        self.index = index
        self.reader_name = reader_name
        self.port = port
        self._lock = lock
        self._link: ViccLink | None = None
        self.evidence: EvidenceStore | None = None
        self.vicc_host = vicc_host or (stack.config.vicc_host if stack else "127.0.0.1")
        #: whether this machine's PC/SC sees the reader (insert and remove wait for it)
        self.observable = stack is not None or reader_name in list_readers()

    @classmethod
    def remote(cls, vicc_host: str, port: int, reader_name: str = "") -> VirtualCardSlot:
        """The reader of an external kiosk: its vpcd at `vicc_host:port`.

        The rig holds no lock on it (the kiosk owns the reader); when this machine's pcscd
        does not list `reader_name` (a kiosk elsewhere), insert and remove do not wait for
        PC/SC to report the change: the kiosk's screen is what a scenario waits for.
        """
        return cls(None, -1, reader_name or f"vpcd {vicc_host}:{port}", port, None, vicc_host)

    def __repr__(self) -> str:
        return f"VirtualCardSlot({self.reader_name!r}, port={self.port})"

    @property
    def card(self) -> CardOS | None:
        return self._link.card if self._link else None

    def insert(self, card: CardOS, *, mute: bool = False, wait: bool = True) -> None:
        """Put a card in the reader; with `wait`, return once PC/SC reports it present."""
        if self._link is not None:
            raise PcscStackError(f"{self.reader_name}: a card is already inserted")
        link = ViccLink(
            card,
            self.vicc_host,
            self.port,
            mode=LinkMode.MUTE if mute else LinkMode.NORMAL,
            on_apdu=self._trace,
        )
        link.open()
        self._link = link
        if wait and self.observable:
            wait_reader_state(self.reader_name, SCARD_STATE_PRESENT | SCARD_STATE_MUTE, 10)

    def remove(self, *, wait: bool = True) -> None:
        """Take the card out; with `wait`, return once PC/SC reports the reader empty."""
        link, self._link = self._link, None
        if link is None:
            return
        link.close()
        if link.error is not None:
            raise PcscStackError(f"{self.reader_name}: the card link failed: {link.error!r}")
        if wait and self.observable:
            wait_reader_state(self.reader_name, SCARD_STATE_EMPTY, 10)

    def pull_out_mid_command(self) -> None:
        """Arm the slot: the next command APDU reaches the card, then the card is gone."""
        if self._link is None:
            raise PcscStackError(f"{self.reader_name}: no card to pull out")
        self._link.pull_out_on_next_command()

    def forget_pulled_card(self) -> None:
        """After a mid-command pull-out, drop the dead link so a new card can go in."""
        if self._link is not None and self._link.pulled_mid_command.is_set():
            self._link.close()
            self._link = None

    def _trace(self, command: bytes, response: bytes) -> None:
        trace_apdu(self.evidence, self.reader_name, command, response)

    def release(self) -> None:
        """Remove any card and give the reader back."""
        with contextlib.suppress(PcscStackError, TimeoutError):
            self.remove()
        if self.stack is None or self._lock is None:
            return
        self.stack._give_back(self)
        self._lock.close()  # closing the file releases its lock
        self._lock = None  # a second release must not give back a reader taken since


class ReaderStack:
    """pcscd with the rig's vpcd readers, shared by every test in a process."""

    _shared: ReaderStack | None = None
    _shared_lock = threading.Lock()

    def __init__(self, config: StackConfig | None = None):
        self.config = config or StackConfig()
        self.daemon = PcscDaemon(self.config)
        self._slots: dict[int, VirtualCardSlot] = {}
        self._mutex = threading.Lock()
        self._readers: list[str] = []

    @classmethod
    def shared(cls) -> ReaderStack:
        with cls._shared_lock:
            if cls._shared is None:
                stack = cls()
                stack.start()
                atexit.register(stack.stop)
                cls._shared = stack
            return cls._shared

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        self.daemon.acquire()
        deadline = time.monotonic() + timeout
        while True:
            readers = [r for r in list_readers() if r.startswith(READER_PREFIX)]
            if len(readers) >= self.config.slots:
                self._readers = readers
                return
            if time.monotonic() > deadline:
                ours = self.daemon.started_by_rig() is not None
                self.daemon.release()
                raise PcscStackError(self._missing_readers(readers, ours))
            time.sleep(0.05)

    def _missing_readers(self, readers: list[str], ours: bool) -> str:
        shown = f"pcscd shows {len(readers)} of the rig's {self.config.slots} readers"
        if not ours:
            return (
                f"{shown}. A pcscd not started by the rig is running without them: stop it "
                "(`pkill pcscd`) and let the rig start its own, or add "
                f"{self.config.state_dir}/reader.conf.d/konbini-rig-vpcd to its reader.conf.d"
            )
        config = self.config
        missing = [
            entry
            for entry in range(config.entries)
            if not any(r.startswith(f"{READER_PREFIX} {entry} ") for r in readers)
        ]
        ports = [config.port_of(e, s) for e in missing for s in range(SLOTS_PER_ENTRY)]
        taken = [p for p in ports if port_taken(p)]
        if taken:
            why = (
                f"port(s) {', '.join(map(str, taken))} are held by another socket "
                "(`ss -tanp 'sport = :PORT'` shows whose)"
            )
        else:
            why = (
                f"port(s) {', '.join(map(str, ports))} were taken when it started "
                f"({config.state_dir / 'pcscd.log'} says 'init failed')"
            )
        return (
            f"{shown}: {why}. Free them, or move the readers with RIG_VPCD_PORT_BASE (below the "
            "machine's ephemeral ports, /proc/sys/net/ipv4/ip_local_port_range), then run again"
        )

    def stop(self) -> None:
        for slot in list(self._slots.values()):
            slot.release()
        self.daemon.release()
        if ReaderStack._shared is self:
            ReaderStack._shared = None

    # -- readers -----------------------------------------------------------------------
    def reader_port(self, reader: str) -> int:
        """vpcd port of a rig reader: name `<prefix> <entry> <nn> <slot>`."""
        parts = reader[len(READER_PREFIX) :].split()
        entry, slot = int(parts[0]), int(parts[-1], 16)
        return self.config.port_of(entry, slot)

    def readers(self) -> list[str]:
        return list(self._readers)

    def reader_at(self, port: int) -> str:
        """The rig reader whose vpcd listens on `port`."""
        for reader in self._readers:
            if self.reader_port(reader) == port:
                return reader
        raise PcscStackError(f"no rig reader on vpcd port {port}")

    def acquire(
        self,
        index: int | None = None,
        timeout: float = 30.0,
        waiting: Callable[[str], None] | None = None,
    ) -> VirtualCardSlot:
        """A free reader (or reader number `index`), exclusively this process's until release.

        The lowest free reader is taken first, so readers declared for stand-alone kiosks are
        best taken from the top. `waiting` is told once, naming the holder, when none is free.
        """
        candidates = self._readers if index is None else [self._readers[index]]
        deadline = time.monotonic() + timeout
        told = False
        while True:
            for reader in candidates:
                slot = self._try_lock(reader)
                if slot is not None:
                    return slot
            if time.monotonic() > deadline:
                raise PcscStackError(
                    f"{self._held(candidates)}, still after {timeout:g} s: two rig processes "
                    "never share a reader; end the one holding it, or give this one another "
                    "(docs/reader-stack.md)"
                )
            if waiting is not None and not told:
                waiting(f"waiting up to {timeout:g} s: {self._held(candidates)}")
                told = True
            time.sleep(0.05)

    def _lock_path(self, reader: str) -> Path:
        return Path(self.config.state_dir) / f"reader-{self._readers.index(reader)}.lock"

    def _held(self, readers: list[str]) -> str:
        """Which process holds each reader, from the process id its lock file records."""
        if len(readers) == 1:
            (reader,) = readers
            port = self.reader_port(reader)
            return f"rig reader {reader!r} (vpcd port {port}) is held by {self._holder(reader)}"
        holders = sorted({self._holder(reader) for reader in readers})
        return f"all {len(readers)} rig readers are held, by {', '.join(holders)}"

    def _holder(self, reader: str) -> str:
        try:
            pid = int(self._lock_path(reader).read_text(encoding="ascii").split()[0])
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            return "another process"
        # the program and its first words say which rig command it is; never all of it
        words = [Path(a.decode(errors="replace")).name[:40] for a in argv[:4] if a]
        return f"process {pid} ({' '.join(words)})" if pid != os.getpid() else "this process"

    def _try_lock(self, reader: str) -> VirtualCardSlot | None:
        idx = self._readers.index(reader)
        with self._mutex:
            if idx in self._slots:
                return None
            fh = self._lock_path(reader).open("a", encoding="ascii")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                return None
            # the holder's process id, for the message of whoever waits for this reader next
            fh.truncate(0)
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            slot = VirtualCardSlot(self, idx, reader, self.reader_port(reader), fh)
            self._slots[idx] = slot
            return slot

    def _give_back(self, slot: VirtualCardSlot) -> None:
        with self._mutex:
            self._slots.pop(slot.index, None)

"""The PC/SC daemon the rig's virtual readers live in.

pcsc-lite's socket (/run/pcscd/pcscd.comm) and pid file are compile-time paths, so one pcscd
serves the whole machine. The rig starts it (with a reader.conf folder of its own holding the
vpcd readers) only when none is running, and stops it only if the rig started it and no rig
process still uses it. Processes that use it (pytest-xdist workers, `rig serve`, helpers) are
counted in a shared state folder guarded by a file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PCSCD = "/usr/sbin/pcscd"
VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
#: vpcd with a card-event wait (rig/core/pcsc/driver/rig_vpcd_wait.c, built by `make setup`):
#: pcscd sees a card placed or removed within ~10 ms instead of its 400 ms poll
RIG_DRIVER = Path(__file__).resolve().parents[3] / "build" / "pcsc" / "librigvpcd.so"
RIG_DRIVER_SOURCE = Path(__file__).resolve().parent / "driver" / "rig_vpcd_wait.c"
PCSCD_PID_FILE = Path("/run/pcscd/pcscd.pid")
#: One vpcd reader entry serves two slots, on its port and the next one.
SLOTS_PER_ENTRY = 2
READER_PREFIX = "Konbini Rig vpcd"
#: The first reader's port; vpcd listens there and on the next 11. It lies below Linux's
#: default ephemeral range (32768–60999): a port inside it can be taken at any moment by an
#: outgoing connection of any process on the machine (and stays taken a minute in TIME_WAIT
#: after it closes), and pcscd gives up for good on a reader whose port it cannot bind.
DEFAULT_PORT_BASE = 31100
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


class PcscStackError(RuntimeError):
    """The reader stack cannot be brought up; the message says what to do."""


@dataclass(frozen=True)
class StackConfig:
    """Where the rig's readers are: `entries` vpcd entries × 2 slots on consecutive ports."""

    state_dir: Path = Path(os.environ.get("RIG_PCSC_STATE_DIR", "/tmp/konbini-rig-pcsc"))
    port_base: int = int(os.environ.get("RIG_VPCD_PORT_BASE", str(DEFAULT_PORT_BASE)))
    # pcsc-lite watches at most 16 readers per SCardGetStatusChange, the PnP pseudo-reader
    # included: 6 entries (12 readers) leave room for it and for real readers on the machine.
    entries: int = 6
    vicc_host: str = "127.0.0.1"

    @property
    def slots(self) -> int:
        return self.entries * SLOTS_PER_ENTRY

    def port_of(self, entry: int, slot: int) -> int:
        return self.port_base + entry * SLOTS_PER_ENTRY + slot

    @property
    def ports(self) -> range:
        return range(self.port_base, self.port_base + self.slots)

    def vpcd_copy(self, entry: int) -> Path:
        return self.state_dir / "drivers" / f"libifdvpcd-{entry}.so"

    def driver_copy(self, entry: int) -> Path:
        """The driver pcscd loads for entry `entry`: the rig's (which loads `vpcd_copy` beside
        it) when it is built and not turned off (RIG_PCSC_PLAIN_VPCD=1), else vpcd itself."""
        if rig_driver_in_use():
            return self.state_dir / "drivers" / f"librigvpcd-{entry}.so"
        return self.vpcd_copy(entry)

    def reader_conf(self) -> str:
        # vpcd keeps its sockets in driver-global state indexed by slot, so two entries that
        # share one loaded driver overwrite each other's sockets. pcscd loads each LIBPATH once;
        # a separate copy of the driver per entry gives each its own state.
        blocks = []
        for i in range(self.entries):
            port = self.port_of(i, 0)
            blocks.append(
                f'FRIENDLYNAME "{READER_PREFIX} {i}"\n'
                f"DEVICENAME /dev/null:{port}\n"
                f"LIBPATH {self.driver_copy(i)}\n"
                f"CHANNELID {port}\n"
            )
        return "\n".join(blocks)


def ephemeral_port_range(path: Path = EPHEMERAL_RANGE_FILE) -> range | None:
    """The ports the kernel hands to outgoing connections (None if it does not say)."""
    try:
        low, high = (int(v) for v in path.read_text().split())
    except (OSError, ValueError):
        return None
    return range(low, high + 1)


def port_taken(port: int) -> bool:
    """Would vpcd fail to listen on `port` now (bound the way vpcd binds it)?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def rig_driver_in_use() -> bool:
    return RIG_DRIVER.exists() and os.environ.get("RIG_PCSC_PLAIN_VPCD", "") != "1"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_pcscd_pid() -> int | None:
    """The pid of the machine's pcscd, if one is running."""
    try:
        # pcscd writes its pid followed by a NUL byte
        pid = int(PCSCD_PID_FILE.read_text().strip("\x00 \n"))
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


class PcscDaemon:
    """Reference-counted use of the machine's pcscd (started by the rig when absent)."""

    def __init__(self, config: StackConfig):
        self.config = config
        self.state_dir = config.state_dir
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "users").mkdir(exist_ok=True)
        self._registered = False

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # closing the file releases the lock
        with (self.state_dir / "lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    def _owner_file(self) -> Path:
        return self.state_dir / "pcscd.owner"

    def _live_users(self) -> list[int]:
        users = []
        for f in (self.state_dir / "users").iterdir():
            try:
                pid = int(f.name)
            except ValueError:
                continue
            if pid_alive(pid):
                users.append(pid)
            else:
                f.unlink(missing_ok=True)
        return users

    def started_by_rig(self) -> int | None:
        """The pid of the pcscd the rig started, if it is the one running."""
        try:
            pid = int(self._owner_file().read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) and running_pcscd_pid() == pid else None

    def acquire(self) -> None:
        """Register this process as a user; start pcscd if none is running."""
        with self._locked():
            users = [pid for pid in self._live_users() if pid != os.getpid()]
            ours = self.started_by_rig()
            if ours is not None and self._conf().exists() and not self._conf_current():
                # a pcscd the rig started with other readers (another RIG_VPCD_PORT_BASE, a
                # checkout from before the ports moved, another build of the reader driver):
                # its readers' names are ours, what stands behind them is not
                if users:
                    raise PcscStackError(
                        f"the rig's pcscd (pid {ours}) serves readers on other ports than "
                        f"{self.config.ports.start}–{self.config.ports.stop - 1} or with another "
                        f"build of the reader driver, and rig processes "
                        f"{', '.join(map(str, users))} still use it: run with their "
                        "RIG_VPCD_PORT_BASE and checkout, or after they end"
                    )
                self._stop(ours)
            if running_pcscd_pid() is None:
                self._start()
            (self.state_dir / "users" / str(os.getpid())).touch()
            self._registered = True

    def release(self) -> None:
        """Deregister; stop pcscd if the rig started it and nobody else uses it."""
        if not self._registered:
            return
        with self._locked():
            (self.state_dir / "users" / str(os.getpid())).unlink(missing_ok=True)
            self._registered = False
            if self._live_users():
                return
            pid = self.started_by_rig()
            if pid is not None:
                self._stop(pid)

    def _conf(self) -> Path:
        return self.state_dir / "reader.conf.d" / "konbini-rig-vpcd"

    def _driver_stamp(self) -> str:
        """Which reader driver this process would load: a pcscd started by another checkout
        keeps that checkout's driver, however the readers' names match. The source says it
        (a build's bytes differ between checkouts by the paths in its debug information)."""
        if not rig_driver_in_use():
            return "vpcd"
        return hashlib.sha256(RIG_DRIVER_SOURCE.read_bytes()).hexdigest()

    def _conf_current(self) -> bool:
        try:
            return (
                self._conf().read_text() == self.config.reader_conf()
                and (self.state_dir / "pcscd.driver").read_text() == self._driver_stamp()
            )
        except OSError:
            return False

    def _start(self) -> None:
        if not Path(PCSCD).exists() or not Path(VPCD_DRIVER).exists():
            raise PcscStackError(
                "pcscd or the vpcd driver is missing: run `make setup` "
                "(Debian packages pcscd and vsmartcard-vpcd)"
            )
        conf_dir = self.state_dir / "reader.conf.d"
        conf_dir.mkdir(exist_ok=True)
        for i in range(self.config.entries):
            copy = self.config.vpcd_copy(i)
            copy.parent.mkdir(exist_ok=True)
            shutil.copyfile(VPCD_DRIVER, copy)
            if rig_driver_in_use():
                shutil.copyfile(RIG_DRIVER, self.config.driver_copy(i))
        self._conf().write_text(self.config.reader_conf())
        (self.state_dir / "pcscd.driver").write_text(self._driver_stamp())
        log = (self.state_dir / "pcscd.log").open("ab")
        # -f keeps it our child (so we know its pid); a new session keeps it alive if the
        # starting process is a short-lived pytest worker while others still use it.
        proc = subprocess.Popen(
            [PCSCD, "-f", "-c", str(conf_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise PcscStackError(
                    f"pcscd exited with {proc.returncode}; see {self.state_dir / 'pcscd.log'}"
                )
            if running_pcscd_pid() == proc.pid:
                self._owner_file().write_text(str(proc.pid))
                return
            time.sleep(0.05)
        proc.kill()
        raise PcscStackError("pcscd did not come up within 10 s")

    def _stop(self, pid: int) -> None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        self._owner_file().unlink(missing_ok=True)

"""The card end of a vpcd link: a fast, controllable replacement for vsmartcard's `vicc`.

Wire (vsmartcard doc/api.txt): 2-byte big-endian length + payload; a 1-byte payload is a
control code (00 power off, 01 power on, 02 reset, 04 get ATR), anything longer is a command
APDU answered with its response APDU. vpcd polls presence with "get ATR" and treats a closed
connection as a removed card.

Why not vsmartcard's own VirtualICC: its socket waits on delayed ACKs (~48 ms per APDU here);
with TCP_NODELAY and TCP_QUICKACK re-armed after every read the round trip is under 1 ms.
It also cannot be made mute or pulled out mid-command, which the rig needs.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from collections.abc import Callable
from enum import Enum

from rig.core.pcsc.card_os import CardOS

CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4
CONTROL_CODES = frozenset({CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR})


class LinkMode(Enum):
    NORMAL = "normal"
    #: Answers presence polls, but never produces an ATR once powered: pcscd marks the
    #: card present and mute (SCARD_W_UNRESPONSIVE_CARD on connect), as a dead chip does.
    MUTE = "mute"


class ViccLink:
    """One inserted card: a socket to vpcd served by a thread until `close()`."""

    def __init__(
        self,
        card: CardOS,
        host: str,
        port: int,
        *,
        mode: LinkMode = LinkMode.NORMAL,
        on_apdu: Callable[[bytes, bytes], None] | None = None,
    ):
        self.card = card
        self.host, self.port = host, port
        self.mode = mode
        self.on_apdu = on_apdu
        self._stop = threading.Event()
        self._pull_on_next_command = threading.Event()
        self.pulled_mid_command = threading.Event()
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, name=f"vicc:{port}", daemon=True)
        self.error: BaseException | None = None
        self.commands = 0

    # -- lifecycle ---------------------------------------------------------------------
    def open(self, timeout: float = 5.0) -> None:
        self._sock = self._connect(timeout)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def pull_out_on_next_command(self) -> None:
        """The next command APDU is received but never answered: the card leaves the field."""
        self._pull_on_next_command.set()

    # -- the link ----------------------------------------------------------------------
    def _connect(self, timeout: float) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._quickack(sock)
        sock.settimeout(None)
        return sock

    @staticmethod
    def _quickack(sock: socket.socket) -> None:
        # Linux clears QUICKACK after it acts; re-arm it after every read.
        quickack = getattr(socket, "TCP_QUICKACK", None)
        if quickack is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)

    def _recv_exact(self, sock: socket.socket, n: int) -> bytes | None:
        buf = bytearray()
        while len(buf) < n:
            if self._stop.is_set():
                return None
            ready, _, _ = select.select([sock], [], [], 0.2)
            if not ready:
                continue
            chunk = sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        self._quickack(sock)
        return bytes(buf)

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        sock.sendall(struct.pack(">H", len(payload)) + payload)

    def _serve(self) -> None:
        powered = False
        try:
            while not self._stop.is_set():
                sock = self._sock
                if sock is None:
                    return
                header = self._recv_exact(sock, 2)
                if header is None:
                    return
                (length,) = struct.unpack(">H", header)
                payload = self._recv_exact(sock, length) if length else b""
                if payload is None:
                    return
                if len(payload) == 1 and payload[0] in CONTROL_CODES:
                    powered = self._control(sock, payload[0], powered)
                    continue
                # Any other payload is a command APDU, including a (malformed) 1-byte one:
                # answering it keeps vpcd, which waits for a reply, in step with the card.
                if self._pull_on_next_command.is_set():
                    self.pulled_mid_command.set()
                    self._stop.set()
                    # vpcd reads the closed link as an empty R-APDU with SCARD_S_SUCCESS (a
                    # physical reader reports an error); later calls get SCARD_W_REMOVED_CARD.
                    sock.close()
                    self._sock = None
                    return
                response = self.card.execute(payload)
                self.commands += 1
                # traced before the answer leaves, so the host never outruns its own evidence
                if self.on_apdu is not None:
                    self.on_apdu(payload, response)
                self._send(sock, response)
        except OSError as exc:
            if not self._stop.is_set():
                self.error = exc
        except Exception as exc:  # a card model bug must surface in the test, not vanish
            self.error = exc
            with contextlib.suppress(OSError):
                if self._sock is not None:
                    self._sock.close()

    def _control(self, sock: socket.socket, code: int, powered: bool) -> bool:
        if code == CTRL_ATR:
            if self.mode is LinkMode.MUTE and powered:
                # A mute chip: reconnect unpowered, so vpcd's power-up fails but the card
                # stays present for the next presence poll.
                sock.close()
                self._sock = self._connect(5.0)
                return False
            self._send(sock, bytes(self.card.getATR()))
        elif code == CTRL_ON:
            self.card.powerUp()
            return True
        elif code == CTRL_OFF:
            self.card.powerDown()
            return False
        elif code == CTRL_RESET:
            self.card.reset()
            return True
        return powered

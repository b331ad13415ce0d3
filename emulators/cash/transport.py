"""Byte transports for the cash unit's serial links: a pseudo-terminal or TCP.

* ``pty``: the emulator owns the master side of a pseudo-terminal (raw mode); the kiosk
  opens the slave path with pyserial like any serial port. The default.
* ``socket``: raw TCP; the kiosk opens ``socket://host:port`` with
  ``serial.serial_for_url``.
* ``rfc2217``: TCP with RFC 2217 (Telnet COM port control); the kiosk opens
  ``rfc2217://host:port``. Line settings the kiosk asks for are recorded as evidence.

Each port serves in its own thread and stops cleanly. Framing time-outs (the inter-byte gap
that ends a partial frame) are measured on the monotonic wall clock: they belong to the
serial line, not to the rig's simulated calendar.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import termios
import threading
import time
import tty
from pathlib import Path
from typing import Any, Protocol

import serial.rfc2217

log = logging.getLogger(__name__)

TRANSPORTS = ("pty", "socket", "rfc2217")


class Link(Protocol):
    """The device side of one serial link: bytes in, bytes out."""

    name: str
    gap_s: float

    def receive(self, data: bytes) -> bytes: ...

    def idle_gap(self) -> None: ...

    def line_settings(self, settings: dict[str, Any]) -> None: ...


class TransportError(RuntimeError):
    """A transport that cannot be opened (unknown kind, address in use)."""


class _Served:
    """Shared serving-thread plumbing: a stop pipe and the inter-byte gap bookkeeping."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self._stop_r, self._stop_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._last_rx = 0.0
        self.url = ""

    def _received(self, data: bytes) -> bytes:
        now = time.monotonic()
        if self._last_rx and now - self._last_rx > self.link.gap_s:
            self.link.idle_gap()
        self._last_rx = now
        return self.link.receive(data)

    def start(self) -> str:
        """Serve in a thread of its own; returns the address the kiosk opens."""
        self._thread = threading.Thread(
            target=self._serve, name=f"cash-{self.link.name}", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._thread is not None:
            os.write(self._stop_w, b"x")
            self._thread.join(timeout=5)
            if self._thread.is_alive():  # pragma: no cover - would be a bug in the loop
                raise TransportError(f"{self.link.name} serving thread did not stop")
            self._thread = None
        # -1 marks a closed descriptor: a second stop() must not close a number the
        # process has since handed to another file (a sqlite database, a socket)
        for fd in (self._stop_r, self._stop_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._stop_r = self._stop_w = -1
        self._close()

    def _serve(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


class PtyPort(_Served):
    """A pseudo-terminal: `url` is the slave path the kiosk opens."""

    def __init__(self, link: Link, symlink: Path | None = None) -> None:
        super().__init__(link)
        self._master, self._slave = os.openpty()
        # raw on the slave: no echo, no line editing before the kiosk configures the port
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self._initial_attrs = termios.tcgetattr(self._slave)
        self.url = os.ttyname(self._slave)
        self._symlink = symlink
        if symlink is not None:
            symlink.unlink(missing_ok=True)
            symlink.symlink_to(self.url)

    def _relax_line(self) -> None:
        """Put the slave's speed and parity back to their pristine values.

        Some kernels refuse a kiosk's second open of a pty with EINVAL when pyserial adds
        parity on top of the speed left by the previous open. Speed and parity mean
        nothing on a pty, so the emulator resets them whenever the line is quiet or has
        just carried a frame; the kiosk's own settings are re-applied on its next open.
        """
        try:
            attrs = termios.tcgetattr(self._slave)
            cbaud = termios.CBAUD
            attrs[2] = (attrs[2] & ~(cbaud | termios.PARENB | termios.PARODD)) | (
                self._initial_attrs[2] & cbaud
            )
            attrs[4], attrs[5] = self._initial_attrs[4], self._initial_attrs[5]
            termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        except termios.error:
            pass

    def _serve(self) -> None:
        while True:
            ready, _, _ = select.select([self._master, self._stop_r], [], [], 0.25)
            if self._stop_r in ready:
                return
            if self._master not in ready:
                self._relax_line()
                continue
            try:
                data = os.read(self._master, 4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:  # the slave side has gone; keep serving for a reopen
                time.sleep(0.01)
                continue
            if data:
                self._relax_line()
                self._write(self._received(data))

    def _write(self, out: bytes) -> None:
        view = memoryview(out)
        deadline = time.monotonic() + 1.0
        while view:
            try:
                sent = os.write(self._master, view)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    # the kiosk is not reading: drop like an overrun UART would
                    log.warning("%s: dropped %d bytes, nobody reading", self.link.name, len(view))
                    return
                time.sleep(0.001)
                continue
            view = view[sent:]

    def _close(self) -> None:
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1
        if self._symlink is not None:
            self._symlink.unlink(missing_ok=True)


class _LineSettings:
    """What an RFC 2217 PortManager needs from a serial port, remembered for evidence."""

    def __init__(self, on_change: Any) -> None:
        self._on_change = on_change
        self._values: dict[str, Any] = {
            "baudrate": 9600,
            "bytesize": 8,
            "parity": "N",
            "stopbits": 1,
            "rts": True,
            "dtr": True,
            "break_condition": False,
        }
        self.cts = self.dsr = self.cd = True
        self.ri = False
        # PortManager reads these when a client asks for the flow-control setting; a client
        # may ask before it ever sets one, and a missing attribute killed the port's thread
        self.xonxoff = self.rtscts = False
        self.name = "emulated"

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        values = self.__dict__.get("_values")
        if values is not None and name in values:
            values[name] = value
            self._on_change(dict(values))
        else:
            super().__setattr__(name, value)

    def reset_input_buffer(self) -> None:
        pass

    def reset_output_buffer(self) -> None:
        pass


class TcpPort(_Served):
    """A TCP listener (raw ``socket://`` or ``rfc2217://``); one kiosk connection at a time."""

    def __init__(self, link: Link, kind: str = "socket", host: str = "127.0.0.1", port: int = 0):
        super().__init__(link)
        self.kind = kind
        self._listener = socket.create_server((host, port))
        self._listener.setblocking(False)
        bound_host, bound_port = self._listener.getsockname()[:2]
        self.url = f"{kind}://{bound_host}:{bound_port}"

    def _serve(self) -> None:
        client: socket.socket | None = None
        manager: serial.rfc2217.PortManager | None = None
        try:
            while True:
                watch: list[Any] = [self._listener, self._stop_r]
                if client is not None:
                    watch.append(client)
                ready, _, _ = select.select(watch, [], [], 1.0)
                if self._stop_r in ready:
                    return
                if self._listener in ready:
                    if client is not None:
                        client.close()
                    client, _addr = self._listener.accept()
                    client.setblocking(True)
                    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self.link.idle_gap()
                    manager = self._manager(client) if self.kind == "rfc2217" else None
                if client is not None and client in ready:
                    try:
                        data = client.recv(4096)
                    except OSError:
                        data = b""
                    if not data:
                        client.close()
                        client, manager = None, None
                        continue
                    if manager is not None:
                        data = bytes(b"".join(manager.filter(data)))
                        if not data:
                            continue
                    out = self._received(data)
                    if out:
                        payload = bytes(b"".join(manager.escape(out))) if manager else out
                        try:
                            client.sendall(payload)
                        except OSError:
                            client.close()
                            client, manager = None, None
        finally:
            if client is not None:
                client.close()

    def _manager(self, client: socket.socket) -> serial.rfc2217.PortManager:
        settings = _LineSettings(self.link.line_settings)
        return serial.rfc2217.PortManager(settings, _SocketWriter(client))

    def _close(self) -> None:
        self._listener.close()


class _SocketWriter:
    """The connection object PortManager writes its Telnet negotiation to."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendall(data)


def open_port(
    link: Link,
    transport: str,
    *,
    host: str = "127.0.0.1",
    symlink: Path | None = None,
    port: int = 0,
) -> PtyPort | TcpPort:
    """The port of `transport` (one of TRANSPORTS: `CashUnit` refuses any other) for `link`."""
    if transport == "pty":
        return PtyPort(link, symlink)
    return TcpPort(link, transport, host, port)

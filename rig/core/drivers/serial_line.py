"""What the host's serial drivers share (ID-003 bill validator, ccTalk bus): the port, opened
from a device path or pyserial URL with the protocol's line settings, reopened after the link
restarted, and read until the protocol's decoder gives one frame."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Self, TypeVar

import serial

_Frame = TypeVar("_Frame")


class SerialDriver:
    """A host's handle on one serial line; subclasses name the protocol's line settings."""

    #: pyserial settings of the protocol's line (baud rate, parity, ...)
    LINE: ClassVar[dict[str, Any]]

    def __init__(self, port: serial.SerialBase, *, timeout: float) -> None:
        self.port = port
        self.timeout = timeout

    @classmethod
    def _open_port(cls, url: str, timeout: float) -> serial.SerialBase:
        return serial.serial_for_url(url, timeout=timeout, **cls.LINE)

    def close(self) -> None:
        self.port.close()

    def reopen(self, url: str | None = None) -> None:
        """Open the port again (after the device or its link restarted)."""
        target = url or self.port.portstr
        self.port.close()
        self.port = self._open_port(target, self.timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_one(
        self, feed: Callable[[bytes], Iterable[object]], kind: type[_Frame]
    ) -> _Frame | None:
        """The first `kind` the decoder's `feed` gives within the time-out, else None."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            chunk = self.port.read(max(1, self.port.in_waiting))
            for item in feed(chunk):
                if isinstance(item, kind):
                    return item
        return None

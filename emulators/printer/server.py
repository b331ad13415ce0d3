"""IPP over HTTP/1.1 (RFC 8010 section 4) on loopback: POST application/ipp to /ipp/<printer>.

Bodies come with Content-Length or chunked (ipptool sends chunked); both are capped, and
every socket read has a time-out, so no client can hold a worker forever or make the
printer buffer without limit. An offline printer accepts the connection and closes it
without an answer, which is what a kiosk sees when a real printer drops off the network.
"""

from __future__ import annotations

import io
import socket
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from emulators.printer.ipp_service import MAX_DOCUMENT_BYTES, IppService

MAX_REQUEST_BYTES = MAX_DOCUMENT_BYTES + 1024 * 1024


def _icon() -> bytes:
    """printer-icons: a plain 128x128 gray square (IPP Everywhere asks for one)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (128, 128), 200).save(out, format="PNG")
    return out.getvalue()


ICON_PNG = _icon()
SOCKET_TIMEOUT_S = 10.0


class BodyError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "KonbiniRigIPP/1.0"
    timeout = SOCKET_TIMEOUT_S
    server: IppHttpServer

    def log_message(self, format: str, *args: Any) -> None:
        return  # evidence carries what matters; stderr noise helps nobody

    def _read_exact(self, n: int) -> bytes:
        data = self.rfile.read(n)
        if len(data) != n:
            raise BodyError(400, "body ended early")
        return data

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            line = self.rfile.readline(1026)
            if not line.endswith(b"\n"):
                raise BodyError(400, "bad chunk header")
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError as exc:
                raise BodyError(400, "bad chunk size") from exc
            if size < 0:
                raise BodyError(400, "bad chunk size")
            if size == 0:
                # trailers, up to the empty line
                for _ in range(64):
                    trailer = self.rfile.readline(8192)
                    if trailer in (b"\r\n", b"\n", b""):
                        return bytes(body)
                raise BodyError(400, "too many trailers")
            if len(body) + size > MAX_REQUEST_BYTES:
                raise BodyError(413, "request too large")
            body += self._read_exact(size)
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BodyError(400, "chunk not followed by CRLF")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = self._read_chunked()
        else:
            length_text = self.headers.get("Content-Length")
            if length_text is None:
                raise BodyError(411, "Content-Length or chunked encoding required")
            try:
                length = int(length_text)
            except ValueError as exc:
                raise BodyError(400, "bad Content-Length") from exc
            if length < 0:
                raise BodyError(400, "bad Content-Length")
            if length > MAX_REQUEST_BYTES:
                raise BodyError(413, "request too large")
            body = self._read_exact(length)
        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding in ("gzip", "deflate"):
            try:
                inflater = zlib.decompressobj(31 if encoding == "gzip" else 15)
                body = inflater.decompress(body, MAX_REQUEST_BYTES + 1)
            except zlib.error as exc:
                raise BodyError(400, f"bad {encoding} body") from exc
            if len(body) > MAX_REQUEST_BYTES:
                raise BodyError(413, "request too large")
        elif encoding not in ("identity", ""):
            raise BodyError(415, f"Content-Encoding {encoding} not supported")
        return body

    def _plain(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if status >= 400:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def _offline(self) -> bool:
        device = self.server.service.device_for(self.path.split("?", 1)[0])
        return device is not None and device.offline

    def do_POST(self) -> None:
        if self._offline():
            self.close_connection = True
            return
        content_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if content_type != "application/ipp":
            self._plain(400, "Content-Type must be application/ipp")
            return
        try:
            body = self._read_body()
        except BodyError as exc:
            self._plain(exc.status, str(exc))
            return
        answer = self.server.service.handle(body, self.path.split("?", 1)[0])
        self.send_response(200)
        self.send_header("Content-Type", "application/ipp")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def do_GET(self) -> None:
        if self._offline():
            self.close_connection = True
            return
        path = self.path.split("?", 1)[0]
        if path == "/icon.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(ICON_PNG)))
            self.end_headers()
            self.wfile.write(ICON_PNG)
            return
        device = self.server.service.device_for(path)
        if device is None:
            self._plain(404, "no such printer")
            return
        self._plain(
            200,
            f"{device.profile.make_and_model}\nstate: {device.state().name.lower()}\n"
            f"reasons: {', '.join(device.state_reasons())}\n",
        )


class IppHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, service: IppService, host: str = "127.0.0.1"):
        self.service = service
        super().__init__((host, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that vanished mid-request is routine, not a printer failure
        return

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()


def serve_in_thread(server: IppHttpServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.name = "ipp-http"
    thread.start()
    return thread

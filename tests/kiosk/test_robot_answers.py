"""A vendor's robot adapter whose success answers break the protocol: the rig's robot client
raises `RobotAnswerError` (`unreadable_answer`) naming the call and the members at fault, so
the scenario fails saying what the adapter did wrong, never with a bare pydantic trace.

The adapter here is a real HTTP server (the standard library's) answering 200 with what a
broken adapter could send.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rig.core.drivers.robot_client import RobotAnswerError, RobotClient, RobotError

#: path → (content type, body) the broken adapter answers with 200
ANSWERS: dict[str, tuple[str, bytes]] = {
    "/robot/v1/info": ("text/html", b"<html>kiosk</html>"),
    "/robot/v1/screen": ("application/json", json.dumps({"screen": "nowhere"}).encode()),
    "/robot/v1/tap": ("application/json", b"[1, 2]"),
    "/robot/v1/held": ("application/json", json.dumps({"pin": 1234}).encode()),
}


class _BrokenAdapter(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        content_type, body = ANSWERS[self.path.split("?")[0]]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def robot() -> Iterator[RobotClient]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BrokenAdapter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    with RobotClient(f"http://{host!s}:{port}/robot/v1", timeout=5) as client:
        yield client
    server.shutdown()
    server.server_close()


CASES: dict[str, tuple[Callable[[RobotClient], Any], list[str]]] = {
    "not JSON": (lambda r: r.info(), ["GET /robot/v1/info answered 200", "not JSON"]),
    "wrong shape": (
        lambda r: r.screen(),
        ["GET /robot/v1/screen", "not a ScreenView", "screen: Input should be"],
    ),
    "not an object": (lambda r: r.tap("next"), ["POST /robot/v1/tap", "not a ScreenView"]),
    "member of the wrong type": (lambda r: r.held(), ["GET /robot/v1/held", "not a HeldData"]),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_an_answer_that_breaks_the_protocol_names_the_call_and_the_fault(
    case: tuple[Callable[[RobotClient], Any], list[str]], robot: RobotClient
) -> None:
    call, said = case
    with pytest.raises(RobotAnswerError) as caught:
        call(robot)
    assert isinstance(caught.value, RobotError) and caught.value.code == "unreadable_answer"
    for part in said:
        assert part in str(caught.value)
    assert "nowhere" not in str(caught.value) and "1234" not in str(caught.value)  # no values

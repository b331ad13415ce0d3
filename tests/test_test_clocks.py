"""Test-mode clocks: the rig clock's jump and listeners, the stand-alone issuance server's
holdable clock and its route, and the rig's client of that route against a server that
declares it and misbehaves (a double on the rig's own HTTPS server, real mutual TLS)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from emulators.municipal.test_clock import TEST_CLOCK_PATH, HoldableClock, clock_routes
from rig.core.clock import JST, ClockDriver, ClockError, RigClock
from rig.core.drivers.kiosk_extensions import ExtensionError
from rig.core.drivers.municipal_test_clock import MunicipalTestClock
from rig.core.https import JsonHttpsServer, Request, Response, Route
from rig.core.pki.tls import TlsMaterial

START = datetime(2026, 11, 24, 9, 0, tzinfo=JST)
YEAR_END = datetime(2026, 12, 30, 12, 0, tzinfo=JST)


def test_skip_jumps_a_real_time_clock_and_fires_what_falls_due() -> None:
    clock = RigClock(START, realtime_factor=1.0)
    driver = ClockDriver(clock)
    fired: list[datetime] = []
    clock.call_later(1800, lambda: fired.append(clock.now()))
    driver.start()
    try:
        clock.skip(3600)
        assert fired == [START + timedelta(seconds=1800)]
        assert clock.now() >= START + timedelta(seconds=3600)
    finally:
        driver.stop()
    with pytest.raises(ClockError):
        clock.skip(-1)


def test_listeners_follow_every_move() -> None:
    clock = RigClock(START)
    seen: list[datetime] = []
    clock.on_move(seen.append)
    clock.advance(10)
    clock.set(YEAR_END)
    assert seen == [START + timedelta(seconds=10), YEAR_END]

    def broken(now: datetime) -> None:
        raise ExtensionError("PUT /test/clock: answered 500")

    clock.on_move(broken)
    with pytest.raises(ExtensionError, match="answered 500"):
        clock.advance(1)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return TlsMaterial(tmp_path_factory.mktemp("test-clock-tls"), seed="test-clocks")


@contextmanager
def server(tls: TlsMaterial, handlers: dict[str, Callable[[Request], Any]]) -> Iterator[str]:
    https = JsonHttpsServer(
        certificate=tls.server("municipal"), client_cas=[tls.lgpki_ca],
        routes=[Route(m, "/v1" + TEST_CLOCK_PATH, h) for m, h in handlers.items()],
    )  # fmt: skip
    root = https.start()
    try:
        yield root + "/v1"
    finally:
        https.stop()


def _client(tls: TlsMaterial, url: str) -> MunicipalTestClock:
    return MunicipalTestClock(
        url, TEST_CLOCK_PATH, client=tls.lgpki_client(), server_ca=Path(tls.server_ca)
    )


def test_the_standalone_clock_is_held_and_released(tls: TlsMaterial) -> None:
    clock = HoldableClock(START)
    with server(tls, clock_routes(clock)) as url:
        test_clock = _client(tls, url)
        try:
            assert test_clock.hold(YEAR_END).held
            assert clock.now() == YEAR_END
            earlier = START + timedelta(hours=1)
            assert test_clock.hold(earlier).now == earlier, "a held clock may move back"
            rig = RigClock(START)
            test_clock.follow(rig)
            assert clock.now() == START
            rig.advance(90)
            assert clock.now() == START + timedelta(seconds=90)
            state = test_clock.release()
            assert not state.held and clock.now() < START + timedelta(minutes=5)
            bad = test_clock.http.put(TEST_CLOCK_PATH, json={"now": "2026-11-24T09:00:00"})
            assert bad.status_code == 422 and "timezone" in bad.json()["detail"]
            assert test_clock.http.get(TEST_CLOCK_PATH).json()["held"] is False
        finally:
            test_clock.close()


def _answering(payload: Any, status: int = 200) -> Callable[[Request], Any]:
    def put(_r: Request) -> Response:
        if isinstance(payload, bytes):
            return Response(status=status, body=payload, content_type="text/plain")
        return Response(status=status, json=payload)

    return put


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        # claims success, but its clock shows another time
        (_answering({"now": START.isoformat(), "held": True}), "shows 2026-11-24T09:00:00+09:00"),
        (_answering({"now": YEAR_END.isoformat(), "held": False}), "(held: False)"),
        (_answering({"code": "forbidden"}, 403), 'answered 403: {"code": "forbidden"}'),
        (_answering(b"clock set!"), "not a TestClockState: 'clock set!'"),
        (_answering({"now": "noon", "held": True}), "not a TestClockState"),
    ],
)
def test_a_misbehaving_server_clock_names_the_route_and_the_answer(
    tls: TlsMaterial, answer: Callable[[Request], Any], message: str
) -> None:
    with server(tls, {"PUT": answer}) as url:
        test_clock = _client(tls, url)
        try:
            with pytest.raises(ExtensionError) as err:
                test_clock.hold(YEAR_END)
        finally:
            test_clock.close()
    assert f"PUT {url}{TEST_CLOCK_PATH} {{'now': '2026-12-30T12:00:00+09:00'}}" in str(err.value)
    assert message in str(err.value)

"""Fuzzing both links with random and corrupted frames: protocol-correct answers, no crash.

Counts scale with RIG_FUZZ_SCALE: 500 examples x 5 frames = 2,500 frames per protocol at
scale 1 (make test), 50,000 at scale 20 (make fuzz).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulators.cash import CashUnit
from rig.core.clock import RigClock
from rig.core.protocols import cctalk, id003
from rig.core.protocols.cctalk import Header
from rig.core.protocols.id003 import Command, Status

SCALE = int(os.environ.get("RIG_FUZZ_SCALE", "1"))
FRAMES_PER_EXAMPLE = 5
EXAMPLES = 500 * SCALE
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ID003_COMMANDS = [int(c) for c in Command]


@pytest.fixture
def quiet_unit(tmp_path: Path) -> Iterator[CashUnit]:
    """A unit with no transport and no evidence: the links are fed directly."""
    unit = CashUnit(RigClock(), None, tmp_path / "fuzz")
    yield unit
    unit.close()


@st.composite
def id003_case(draw: st.DrawFn) -> tuple[str, bytes, int]:
    kind = draw(st.sampled_from(["known", "unknown", "bad_crc", "bad_lng", "garbage"]))
    if kind == "known":
        cmd = draw(st.sampled_from(ID003_COMMANDS))
    else:
        cmd = draw(st.integers(0, 255).filter(lambda c: c not in ID003_COMMANDS))
    data = draw(st.binary(max_size=6))
    raw = bytearray(id003.encode_frame(cmd, data))
    if kind == "bad_crc":
        raw[-1 - draw(st.integers(0, 1))] ^= draw(st.integers(1, 255))
    elif kind == "bad_lng":
        raw[1] = draw(st.integers(0, 4))
    elif kind == "garbage":
        raw = bytearray(draw(st.binary(min_size=1, max_size=12)).replace(b"\xfc", b"\x00"))
    return kind, bytes(raw), cmd


def chunks(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(raw) + 1) for c in cuts})
    edges = [0, *points, len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(edges) if b > a]


def replies_id003(out: bytes) -> list[id003.Frame]:
    items = id003.FrameDecoder().feed(out)
    assert all(isinstance(i, id003.Frame) for i in items), f"malformed answer {out.hex()}"
    return [i for i in items if isinstance(i, id003.Frame)]


@pytest.mark.fuzz
def test_fuzz_id003_link(quiet_unit: CashUnit) -> None:
    link = quiet_unit.id003_link
    seen = {"frames": 0}

    @FUZZ_SETTINGS
    @given(
        cases=st.lists(id003_case(), min_size=FRAMES_PER_EXAMPLE, max_size=FRAMES_PER_EXAMPLE),
        cuts=st.lists(st.integers(0, 300), max_size=3),
        insert=st.sampled_from([None, 1000, 10000, "counterfeit"]),
    )
    def run(cases: list[tuple[str, bytes, int]], cuts: list[int], insert: object) -> None:
        if insert == "counterfeit":
            quiet_unit.customer.insert_bill(1000, "counterfeit")
        elif isinstance(insert, int):
            quiet_unit.customer.insert_bill(insert)
        for kind, raw, cmd in cases:
            seen["frames"] += 1
            link.idle_gap()  # each case starts after a pause on the line
            out = b"".join(link.receive(part) for part in chunks(raw, cuts))
            frames = replies_id003(out)
            if kind in ("bad_crc", "bad_lng", "garbage") or cmd == Command.ACK:
                assert frames == [], f"{kind} {raw.hex()} answered {out.hex()}"
            elif kind == "unknown":
                assert frames == [id003.Frame(Status.INVALID_COMMAND)]
            else:
                assert len(frames) == 1
                if cmd in id003.SETTING_DATA_LENGTH:
                    data = id003.decode_frame(raw).data
                    ok = len(data) == id003.SETTING_DATA_LENGTH[cmd]
                    expected = id003.Frame(cmd, data) if ok else id003.Frame(0x4B)
                    assert frames[0] == expected

    run()
    report = quiet_unit.reconcile()
    assert report.ok, report.problems
    assert seen["frames"] >= EXAMPLES * FRAMES_PER_EXAMPLE
    print(f"id003 fuzzed frames: {seen['frames']}")


#: the addresses of the cash unit's ccTalk devices (coin acceptor, hoppers)
CCTALK_DEVICES = [2, 3, 4, 5, 6]
CCTALK_HEADERS = [int(h) for h in Header if h not in (Header.ACK, Header.NAK, Header.BUSY)]


@st.composite
def cctalk_case(draw: st.DrawFn) -> tuple[str, bytes, int, int]:
    kind = draw(st.sampled_from(["known", "unknown", "elsewhere", "bad_sum", "garbage"]))
    dest = draw(st.sampled_from(CCTALK_DEVICES))
    header = draw(st.sampled_from(CCTALK_HEADERS))
    if kind == "unknown":
        header = draw(st.integers(7, 99))
    if kind == "elsewhere":
        dest = draw(st.sampled_from([0, 7, 40, 255]))
    data = draw(st.binary(max_size=4))
    raw = bytearray(cctalk.encode_packet(dest, 1, header, data))
    if kind == "bad_sum":
        raw[draw(st.integers(0, len(raw) - 1))] ^= draw(st.integers(1, 255))
    elif kind == "garbage":
        raw = bytearray(draw(st.binary(min_size=1, max_size=12)))
    return kind, bytes(raw), dest, header


def frames_inside(raw: bytes) -> set[int]:
    """Devices that a sound frame from the host, starting after `raw`'s first byte, is for.

    A corrupted LEN ends a frame early and the next frame starts after it (docs/cash.md), so
    what follows may be a sound frame for a device; nothing else in a corrupted frame may be
    answered. A superset: any offset counts, not only those a device's framing reaches."""
    return {
        raw[at]
        for at in range(1, len(raw) - 4)
        if raw[at] in CCTALK_DEVICES
        and raw[at + 2] == 1
        and at + raw[at + 1] + 5 <= len(raw)
        and sum(raw[at : at + raw[at + 1] + 5]) & 0xFF == 0
    }


def replies_cctalk(out: bytes) -> list[cctalk.Packet]:
    decoder = cctalk.PacketDecoder()
    items = decoder.feed(out)
    assert decoder.pending == 0 and all(isinstance(i, cctalk.Packet) for i in items), out.hex()
    return [i for i in items if isinstance(i, cctalk.Packet)]


@pytest.mark.fuzz
def test_fuzz_cctalk_link(quiet_unit: CashUnit) -> None:
    link = quiet_unit.cctalk_link
    seen = {"frames": 0}

    @FUZZ_SETTINGS
    @given(
        cases=st.lists(cctalk_case(), min_size=FRAMES_PER_EXAMPLE, max_size=FRAMES_PER_EXAMPLE),
        cuts=st.lists(st.integers(0, 300), max_size=3),
        coin_in=st.sampled_from([None, 100, 500]),
    )
    def run(cases: list[tuple[str, bytes, int, int]], cuts: list[int], coin_in: object) -> None:
        if isinstance(coin_in, int):
            quiet_unit.customer.insert_coin(coin_in)
            quiet_unit.customer.take_change()
        for kind, raw, dest, _header in cases:
            seen["frames"] += 1
            link.idle_gap()
            out = b"".join(link.receive(part) for part in chunks(raw, cuts))
            if kind == "garbage":
                replies_cctalk(out)  # whatever it was, any answer is a well-formed frame
                continue
            packets = replies_cctalk(out)
            if kind == "elsewhere":
                assert packets == [], f"{kind} {raw.hex()} answered {out.hex()}"
                continue
            if kind == "bad_sum":
                # silence, but for a sound frame after a LEN the corruption shortened
                answered = {(p.dest, p.src) for p in packets}
                inside = {(1, device) for device in frames_inside(raw)}
                assert answered <= inside, f"{kind} {raw.hex()} answered {out.hex()}"
                continue
            assert len(packets) == 1
            reply = packets[0]
            assert (reply.dest, reply.src) == (1, dest)
            assert reply.header in (Header.ACK, Header.NAK, Header.BUSY)
            if kind == "unknown":
                assert reply.header == Header.NAK

    run()
    report = quiet_unit.reconcile()
    assert report.ok, report.problems
    assert seen["frames"] >= EXAMPLES * FRAMES_PER_EXAMPLE
    print(f"cctalk fuzzed frames: {seen['frames']}")


@pytest.mark.fuzz
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_random_bytes_over_the_pty_then_a_real_poll(tmp_path: Path) -> None:
    """Noise on the real lines never kills the serving loop; a clean poll still works."""
    import random

    rnd = random.Random(20261128)
    with CashUnit(RigClock(), None, tmp_path / "pty-fuzz") as unit:
        with serial.Serial(unit.endpoints["bill_validator_port"], 9600, timeout=0.3) as p:
            for _ in range(40 * SCALE):
                p.write(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 40))))
            time.sleep(0.15)  # the inter-byte gap ends any partial frame
            p.reset_input_buffer()
            p.write(id003.encode_frame(Command.STATUS_REQUEST))
            answer = p.read(5)
            assert len(answer) == 5 and id003.decode_frame(answer).cmd in set(Status)
        with serial.Serial(unit.endpoints["coin_port"], 9600, timeout=0.3) as c:
            for _ in range(40 * SCALE):
                c.write(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 40))))
            time.sleep(0.15)
            c.reset_input_buffer()
            c.write(cctalk.encode_packet(2, 1, Header.SIMPLE_POLL))
            assert c.read(5) == cctalk.encode_packet(1, 2, Header.ACK)
        assert unit.reconcile().ok

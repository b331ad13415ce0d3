"""`rig card insert`: the function the CLI wires in (rig.harness.cardcli.insert_card)."""

from __future__ import annotations

import threading
import time

from rig.core.pcsc import ReaderStack
from rig.core.protocols.apdu import AID_JPKI, SW, select_aid
from rig.harness.cardcli import EXIT_NO_READER, EXIT_OK, EXIT_UNKNOWN_PROFILE, insert_card
from tests.card.conftest import CARD_TEST_SEED, PKI_FOLDER
from tests.card.host import HostConnection


def _wait_for(lines: list[str], text: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in lines):
        assert time.monotonic() < deadline, f"{text!r} never printed: {lines}"
        time.sleep(0.05)


def test_insert_prints_reader_and_pins_and_keeps_the_card_in(reader_stack: ReaderStack) -> None:
    lines: list[str] = []
    stop = threading.Event()
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(
            insert_card(
                "smartphone-android",
                work_dir=PKI_FOLDER,
                seed=CARD_TEST_SEED,
                out=lines.append,
                stop=stop,
                stack=reader_stack,
            )
        )
    )
    worker.start()
    try:
        _wait_for(lines, "press Ctrl-C")
        reader = next(line for line in lines if line.startswith("READER: ")).removeprefix(
            "READER: "
        )
        assert reader in reader_stack.readers()
        assert "AUTH_PIN: 4321" in lines and "SIGN_PASSWORD: PHONE42" in lines
        time.sleep(0.5)  # still inserted a while later
        with HostConnection(reader) as host:
            assert host.transmit(select_aid(AID_JPKI)).sw == SW.OK
    finally:
        stop.set()
        worker.join(30)
    assert result == [EXIT_OK]
    assert lines[-1] == "Card removed."


def test_insert_refuses_unknown_profile_and_bad_reader(reader_stack: ReaderStack) -> None:
    lines: list[str] = []
    assert insert_card("no-such-card", out=lines.append, stack=reader_stack) == (
        EXIT_UNKNOWN_PROFILE
    )
    assert "unknown card profile" in lines[0] and "mynumber-valid" in lines[0]
    code = insert_card(
        "mynumber-valid",
        reader_index=999,
        work_dir=PKI_FOLDER,
        seed=CARD_TEST_SEED,
        out=lines.append,
        stack=reader_stack,
    )
    assert code == EXIT_NO_READER
    assert "out of range" in lines[-1]

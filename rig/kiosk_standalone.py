"""`rig kiosk`: the reference kiosk as a separate process, configured from a kiosk kit.

It stands in for a vendor's kiosk: configured once from `kiosk.json` (rig/kiosk_kit.py), it
serves the robot protocol on a fixed port, keeps a clock of its own (real time; its
inactivity time-outs run in wall seconds, `follows_rig_clock: false`) and opens its devices
on each `POST /reset`, when the rig's parties for the next scenario are up. Its PC/SC reader
is locked for it, so no other rig process puts a card there.

With `test_mode` (the default) it also serves the robot protocol's optional extensions
(emulators/kiosk/test_mode.py): test-mode time, so the rig jumps its clock over a time-out
instead of waiting, and configuration (centre URL, trust anchor, restarts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from emulators.kiosk import KioskConfig, ReferenceKiosk
from rig.clock import JST, ClockDriver, RigClock
from rig.evidence import EvidenceStore
from rig.kiosk_kit import read_kit
from rig.pcsc import ReaderStack
from rig.pki.tls import CertPair


def kiosk_config(kit: dict[str, object]) -> KioskConfig:
    def text(key: str) -> str:
        value = kit.get(key)
        if not isinstance(value, str) or not value:
            raise ValueError(f"kiosk.json: {key} is missing")
        return value

    return KioskConfig(
        reader_name=text("reader_name"),
        bill_validator_port=text("bill_validator_port"),
        coin_port=text("coin_port"),
        ipp_uri=text("ipp_uri"),
        ipp_receipt_uri=text("ipp_receipt_uri"),
        centre_url=text("centre_url"),
        client_certificate=CertPair(
            Path(text("kiosk_client_cert")), Path(text("kiosk_client_key"))
        ),
        server_ca=Path(text("ca_bundle")),
        kiosk_id=text("kiosk_id"),
    )


def run_kiosk(
    kit_dir: Path,
    *,
    port: int,
    work_dir: Path,
    out: Callable[[str], None],
    stop: threading.Event,
    test_mode: bool = True,
) -> int:
    config = kiosk_config(read_kit(kit_dir))
    # the kiosk's own clock: wall time picks its start, nothing in the rig reads it
    clock = RigClock(datetime.now(JST).replace(microsecond=0), realtime_factor=1.0)
    driver = ClockDriver(clock)
    evidence = EvidenceStore(work_dir / "evidence", now=clock.now)
    stack = ReaderStack.shared()
    slot = stack.acquire(stack.readers().index(config.reader_name))
    kiosk = ReferenceKiosk(
        clock, evidence, work_dir / "state", config, port, follows_rig_clock=False
    )
    if test_mode:
        from emulators.kiosk.test_mode import KioskTestMode

        KioskTestMode(kiosk).install()
    driver.start()
    try:
        urls = kiosk.start(open_devices=False)
        out(f"robot_url: {urls['robot_url']}")
        out(f"reader: {config.reader_name}; centre: {config.centre_url}")
        out(f"test mode (time, config extensions): {'on' if test_mode else 'off'}")
        out("rig kiosk: running; devices open on the rig's first POST /reset; Ctrl-C to stop")
        stop.wait()
        out("rig kiosk: stopping")
    finally:
        kiosk.stop()
        driver.stop()
        slot.release()
    return 0

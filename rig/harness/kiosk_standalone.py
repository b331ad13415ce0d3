"""`rig kiosk`: the reference kiosk as a separate process, configured from a kiosk kit.

It stands in for a vendor's kiosk: configured once from `kiosk.json` (rig/harness/kiosk_kit.py), it
serves the robot protocol at the kit's `robot_url` (its host and port), keeps a clock of its
own (real time; its inactivity time-outs run in wall seconds, `follows_rig_clock: false`) and
opens its devices on each `POST /reset`, when the rig's parties for the next scenario are
up. Its PC/SC reader is locked for it, so no other rig process puts a card there.

With `test_mode` (the default) it also serves the robot protocol's optional extensions
(emulators/kiosk/test_mode.py): test-mode time, so the rig jumps its clock over a time-out
instead of waiting, and configuration (centre URL, trust anchor, restarts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from emulators.kiosk import KioskConfig, ReferenceKiosk
from rig.core.clock import JST, ClockDriver, RigClock
from rig.core.evidence import EvidenceStore
from rig.core.netaddr import DEFAULT_LISTEN, check_local
from rig.core.pcsc import ReaderStack
from rig.core.pki.tls import CertPair
from rig.harness.kiosk_kit import read_kit

DEFAULT_ROBOT_PORT = 8700
#: how long `rig kiosk` waits for its declared reader while another rig process holds it
READER_WAIT_S = 120.0


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


def robot_address(kit: dict[str, object], port: int | None) -> tuple[str, int]:
    """Where the robot protocol listens: the host and port of the kit's `robot_url` (the
    address the rig calls), `port` overriding the port; 127.0.0.1:8700 without one."""
    url = kit.get("robot_url")
    parts = urlsplit(url) if isinstance(url, str) else None
    host = (parts.hostname if parts else None) or DEFAULT_LISTEN
    try:
        own = parts.port if parts else None
    except ValueError as exc:
        raise ValueError(f"kiosk.json: robot_url {url!r}: {exc}") from exc
    return check_local(host), port or own or DEFAULT_ROBOT_PORT


def run_kiosk(
    kit_dir: Path,
    *,
    port: int | None,
    work_dir: Path,
    out: Callable[[str], None],
    stop: threading.Event,
    test_mode: bool = True,
) -> int:
    kit = read_kit(kit_dir)
    config = kiosk_config(kit)
    host, port = robot_address(kit, port)
    # the kiosk's own clock: wall time picks its start, nothing in the rig reads it
    clock = RigClock(datetime.now(JST).replace(microsecond=0), realtime_factor=1.0)
    driver = ClockDriver(clock)
    evidence = EvidenceStore(work_dir / "evidence", now=clock.now)
    stack = ReaderStack.shared()
    # its reader may be lent to another rig process's scenario for a moment: wait, and say so
    slot = stack.acquire(
        stack.readers().index(config.reader_name),
        timeout=READER_WAIT_S,
        waiting=lambda message: out(f"rig kiosk: {message}"),
    )
    kiosk = ReferenceKiosk(
        clock, evidence, work_dir / "state", config, port, follows_rig_clock=False,
        robot_host=host,
    )  # fmt: skip
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

"""`ReferenceKiosk`: the rig's embedded kiosk (the default device under test).

kiosk = ReferenceKiosk(clock, evidence, state_dir, config, port=0)
endpoints = kiosk.start()     # {"robot_url": "http://127.0.0.1:PORT/robot"}
...
kiosk.stop()
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from emulators.kiosk import identity
from emulators.kiosk.audit import AuditLog
from emulators.kiosk.card_reader import CardReader
from emulators.kiosk.cash_desk import CashDesk
from emulators.kiosk.centre import CentreLink
from emulators.kiosk.config import KioskConfig
from emulators.kiosk.engine import KioskEngine
from emulators.kiosk.flow import KioskFlow
from emulators.kiosk.print_station import PrintStation
from emulators.kiosk.robot_server import RobotServer
from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.netaddr import DEFAULT_LISTEN
from rig.core.party import PartyHealth, served_health
from rig.core.protocols.robot import HeldData, KioskInfo, ScreenView


class ReferenceKiosk:
    """The reference kiosk: card over PC/SC, cash over serial, IPP printer, HTTPS centre.

    Its parts are class attributes so that a variant (the selftest's defect pack,
    emulators/kiosk/defects) replaces one part by subclassing, never by a flag in here.
    """

    flow_class: type[KioskFlow] = KioskFlow
    cash_desk_class: type[CashDesk] = CashDesk
    print_station_class: type[PrintStation] = PrintStation

    def __init__(
        self,
        clock: RigClock,
        evidence: EvidenceStore | None,
        state_dir: Path,
        config: KioskConfig,
        port: int = 0,
        *,
        follows_rig_clock: bool = True,
        robot_host: str = DEFAULT_LISTEN,
    ):
        """`follows_rig_clock`: False when the kiosk runs on a clock of its own (stand-alone,
        `rig kiosk`), so scenarios wait its time-outs out in real time. `robot_host`: the
        address the robot protocol listens on."""
        self.clock = clock
        self.follows_rig_clock = follows_rig_clock
        self.evidence = evidence
        self.state_dir = Path(state_dir)
        self.config = config
        self.audit = AuditLog(self.state_dir / "audit.jsonl", clock, evidence)
        self.engine = KioskEngine(self.audit, tick_s=config.tick_s)
        self.robot = RobotServer(
            self.engine, self.info, port, evidence, on_reset=self.reset, host=robot_host
        )
        self.reader = CardReader(config.reader_name)
        self.cash = self.cash_desk_class(config.bill_validator_port, config.coin_port)
        self.printer = self.print_station_class(config.ipp_uri, config.ipp_receipt_uri)
        self.centre: CentreLink | None = None
        self.spool_dir = self.state_dir / "spool"
        #: one reset at a time: a reset the rig gave up waiting for may still be running
        self._reset_lock = threading.Lock()
        #: the reference kiosk has no fault plan: its defects are variants (emulators/kiosk/defects)
        self.faults: None = None

    def info(self) -> KioskInfo:
        return KioskInfo(
            vendor=self.config.vendor,
            model=self.config.model,
            software_version=self.config.software_version,
            build_hash=identity.build_hash(),
            follows_rig_clock=self.follows_rig_clock,
            timeouts_s={k.value: v for k, v in self.config.timeouts.items()},
        )

    def start(self, *, open_devices: bool = True) -> dict[str, str]:
        """Serve the robot and, with `open_devices`, open the devices and show standby.

        Without it (a stand-alone kiosk started before the rig's parties are up) the robot
        answers 503 `kiosk_unavailable` until the first `POST /reset`.
        """
        if open_devices:
            self._start_engine()
        url = self.robot.start()
        return {"robot_url": url}

    def reset(self) -> ScreenView:
        """`POST /reset`: abandon whatever is going on, reopen every device, show standby.

        The rig calls it at the start of each scenario against an external kiosk: its
        parties come up afresh (same addresses), so the devices are opened again. Data of
        an abandoned transaction is erased with it (spool included). A reset works whatever
        state the last one left: if the devices cannot be opened, the error goes back to the
        caller, the robot answers `kiosk_unavailable` meanwhile, and the next reset tries again.
        """
        with self._reset_lock:
            self.engine.stop()
            self._close_devices()
            shutil.rmtree(self.spool_dir, ignore_errors=True)
            self._start_engine()
            self.audit.record("kiosk_reset")
            return self.engine.view()

    def _close_devices(self) -> None:
        self.cash.close()
        self.reader.close()
        if self.centre is not None:
            self.centre.close()
            self.centre = None

    def _start_engine(self) -> None:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        centre = CentreLink(self.config)
        self.centre = centre

        def make_flow() -> KioskFlow:
            # devices are opened in the engine thread, which alone uses them afterwards
            self.reader.open()
            self.cash.open()
            return self.flow_class(
                self.clock,
                self.config,
                self.reader,
                self.cash,
                self.printer,
                centre,
                self.audit,
                lambda delay, token: self.engine.arm_timeout(delay, token, self.clock),
            )

        self.engine.start(make_flow)
        self.audit.record("kiosk_started", reader=self.config.reader_name)

    def stop(self) -> None:
        self.robot.stop()
        self.engine.stop()
        self._close_devices()

    def health(self) -> PartyHealth:
        """Up while the robot protocol is served (its devices may still be closed: a
        stand-alone kiosk opens them on the rig's first `POST /reset`)."""
        return served_health(self.robot.server)

    def held(self) -> HeldData:
        """What the kiosk holds now (the robot's /held, plus any spool file)."""
        held = self.engine.call(lambda flow: flow.held())
        files = sorted(str(p) for p in self.spool_dir.rglob("*") if p.is_file())
        return held.model_copy(update={"files": files}) if files else held

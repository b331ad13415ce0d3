"""The cash unit launcher: bill validator + coin bus + audit, served on two serial ports."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from emulators.cash import audit
from emulators.cash.audit import Ledger, ReconcileReport
from emulators.cash.bill_validator import BillValidatorModel
from emulators.cash.coin_mech import CcTalkBusModel
from emulators.cash.customer import CUSTOMER_CHANNEL, Customer, Operator
from emulators.cash.faults import FaultCounters, FaultPlan
from emulators.cash.links import CcTalkLink, Id003Link
from emulators.cash.transport import TRANSPORTS, Link, PtyPort, TcpPort, TransportError, open_port
from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.party import PartyHealth
from rig.core.protocols.id003 import Status

#: Endpoint keys `start()` returns (the kiosk's configuration names them the same way).
BILL_VALIDATOR_PORT = "bill_validator_port"
COIN_PORT = "coin_port"


class CashUnit:
    """An emulated kiosk cash unit (現金ユニット): JCM ID-003 bills, ccTalk coins and change.

    ``transport`` is ``"pty"`` (default: two pseudo-terminals), ``"socket"`` or
    ``"rfc2217"`` (two TCP listeners on ``host``). The audit ledger lives in
    ``state_dir/cash_audit.sqlite3``; a new unit on the same state dir resumes from it.
    """

    def __init__(
        self,
        clock: RigClock,
        evidence: EvidenceStore | None = None,
        state_dir: Path | str = Path("build/state/cash"),
        transport: str = "pty",
        *,
        faults: FaultPlan | dict[str, Any] | None = None,
        local_echo: bool = False,
        host: str = "127.0.0.1",
        link_dir: Path | None = None,
        tcp_ports: dict[str, int] | None = None,
    ) -> None:
        """`link_dir`: where the pty links `<port key>.tty` go (default `state_dir`);
        `tcp_ports`: a fixed TCP port per endpoint key (default: any free port). An external
        kiosk is configured once with these, so every world serves the same addresses."""
        self.link_dir = Path(link_dir) if link_dir is not None else None
        self.tcp_ports = dict(tcp_ports or {})
        if transport not in TRANSPORTS:
            raise TransportError(f"unknown transport {transport!r}: use one of {TRANSPORTS}")
        self.clock = clock
        self.evidence = evidence
        self.state_dir = Path(state_dir)
        self.transport = transport
        self.host = host
        #: the unit's fault plan (jams, full cassette, hopper levels, corrupted replies)
        self.faults = faults if isinstance(faults, FaultPlan) else FaultPlan.from_dict(faults)
        self.faults.validate()
        self.lock = threading.RLock()
        self.ledger = Ledger(self.state_dir, clock.now)
        self.fault_counters = FaultCounters(self.faults)
        self.validator = BillValidatorModel(
            self.ledger, self.fault_counters, clock, self._bus_power_loss
        )
        self.bus = CcTalkBusModel(self.ledger, self.fault_counters)
        self._fill_hoppers_once()
        self.id003_link = Id003Link(self.validator, self.lock, evidence, self.fault_counters)
        self.cctalk_link = CcTalkLink(
            self.bus, self.lock, evidence, self.fault_counters, local_echo=local_echo
        )
        self.customer = Customer(self.ledger, self.validator, self.bus, self.lock, self._record)
        self.operator = Operator(self.ledger, self.validator, self.bus, self.lock, self._record)
        self._ports: list[PtyPort | TcpPort] = []
        self.endpoints: dict[str, str] = {}

    def _fill_hoppers_once(self) -> None:
        if self.ledger.meta("hoppers_filled") is not None:
            return
        for yen, pieces in self.faults.initial_fill().items():
            if pieces:
                self.ledger.move(
                    self.bus.hoppers[yen].item,
                    "operator",
                    self.bus.hoppers[yen].place,
                    "initial fill",
                    pieces,
                    session="operator",
                )
        self.ledger.set_meta("hoppers_filled", "1")

    # -- life cycle ----------------------------------------------------------------------
    def start(self) -> dict[str, str]:
        """Open both serial ports and serve them; returns the endpoint keys."""
        if self._ports:
            return dict(self.endpoints)
        links_at = self.link_dir or self.state_dir
        links_at.mkdir(parents=True, exist_ok=True)
        links: list[tuple[str, Link]] = [
            (BILL_VALIDATOR_PORT, self.id003_link),
            (COIN_PORT, self.cctalk_link),
        ]
        try:
            for key, link in links:
                symlink = links_at / f"{key}.tty" if self.transport == "pty" else None
                port = open_port(
                    link, self.transport, host=self.host, symlink=symlink,
                    port=self.tcp_ports.get(key, 0),
                )  # fmt: skip
                self._ports.append(port)
                self.endpoints[key] = port.start()
        except Exception:
            self.stop()
            raise
        self._record("start", transport=self.transport, **self.endpoints)
        return dict(self.endpoints)

    def stop(self) -> None:
        """Stop serving (threads joined, ports closed) and close the books."""
        ports, self._ports = self._ports, []
        for port in ports:
            port.stop()
        if ports:
            self._record("stop")
        self.endpoints = {}

    def close(self) -> None:
        """Stop serving and close the books (the world's end; `stop()` keeps them open so
        the unit can be started again on the same ledger)."""
        self.stop()
        self.ledger.close()

    def health(self) -> PartyHealth:
        if not self._ports:
            return PartyHealth.down("serial ports closed (not started, or stopped)")
        return PartyHealth.ok()

    def __enter__(self) -> CashUnit:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- power -----------------------------------------------------------------------------
    def power_loss(self) -> None:
        """Cut power to the whole unit: devices fall silent, volatile state is lost."""
        with self.lock:
            self.validator.power_off()
            self.bus.power_off()
        self._record("power_loss")

    def _bus_power_loss(self) -> None:
        # called from inside the validator (planned power loss): same cut for the coin side
        self.bus.power_off()
        self._record("power_loss", planned=True)

    def power_on(self) -> None:
        """Restore power: devices come up from what the audit ledger says is inside them."""
        with self.lock:
            self.validator.power_on()
            self.bus.power_on()
        self._record("power_on", bill_status=self.validator.state.name)

    # -- books -----------------------------------------------------------------------------
    def reconcile(self) -> ReconcileReport:
        """The ledger's own checks plus: the devices' view matches the books."""
        with self.lock:
            report = self.ledger.reconcile()
            report.problems.extend(self._device_problems())
            report.ok = not report.problems
        self._record("reconcile", ok=report.ok, problems=report.problems)
        return report

    def _device_problems(self) -> list[str]:
        problems: list[str] = []
        in_head = len(self.ledger.contents(audit.ACCEPTOR))
        in_transport = len(self.ledger.contents(audit.STACKING))
        if in_head + in_transport > 1:
            problems.append(f"{in_head + in_transport} bills inside the acceptor at once")
        state = self.validator.state
        holding = state in (Status.ESCROW, Status.HOLDING, Status.ACCEPTING)
        if self.validator.powered and holding and in_head != 1:
            problems.append(f"acceptor reports {state.name} with {in_head} bills in the head")
        resting = state in (Status.IDLING, Status.DISABLED)
        if self.validator.powered and resting and (in_head or in_transport):
            problems.append(f"acceptor reports {state.name} with a bill inside")
        for hopper in self.bus.hoppers.values():
            if hopper.level < 0:
                problems.append(f"hopper {hopper.yen} level negative")
        return problems

    def _record(self, event: str, **data: Any) -> None:
        if self.evidence is not None:
            self.evidence.record(CUSTOMER_CHANNEL, event, **data)

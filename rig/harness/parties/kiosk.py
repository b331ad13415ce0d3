"""The kiosk: the rig's reference kiosk, or a kiosk under test behind its robot adapter.

Either way the party is a robot client and a `Customer` who uses the kiosk with the world's
card slot, cash unit and printer; `start()` returns `robot_url`.
"""

from __future__ import annotations

from dataclasses import replace

import httpx

from emulators.kiosk import KioskConfig, ReferenceKiosk
from rig.core.drivers.robot_client import Customer, RobotClient
from rig.core.party import PartyHealth
from rig.core.pcsc import VirtualCardSlot
from rig.harness.config import Topology
from rig.harness.kiosk_kit import cash_link_dir, cash_tcp_ports, cash_transport, kit_tls
from rig.harness.parties.context import KIOSK_ID, BuildContext, Seat, offered, required
from rig.harness.parties.options import WorldOptions
from rig.harness.selftest.variants import variant_class

#: how long `health()` waits for a kiosk under test to answer `GET /info` (seconds)
PROBE_S = 2.0


def emulated_seat(topology: Topology | None, options: WorldOptions) -> Seat:
    """The reference kiosk is configured per world: any free port, the world's TLS files."""
    return Seat(cash_transport=options.cash_transport)


def external_seat(topology: Topology | None, options: WorldOptions) -> Seat:
    """A kiosk under test was configured once (rig kiosk-kit): same addresses, same TLS files."""
    topology = required(topology)
    kiosk = topology.kiosk
    return Seat(
        tls=kit_tls(topology), centre_port=kiosk.centre_port, ipp_port=kiosk.ipp_port,
        cash_transport=cash_transport(topology), cash_link_dir=cash_link_dir(topology),
        cash_tcp_ports=cash_tcp_ports(topology),
    )  # fmt: skip


def _slot(ctx: BuildContext, who: str) -> VirtualCardSlot:
    if ctx.slot is None:
        raise ValueError(f"{who} needs a card slot")
    return ctx.slot


def _customer(
    ctx: BuildContext, robot: RobotClient, slot: VirtualCardSlot, *, follows_rig_clock: bool
) -> Customer:
    """A person at the kiosk, with the world's card slot, cash unit and printer."""
    return Customer(
        robot, card_slot=slot, cash=offered(ctx.cash, "the cash unit").customer,
        printer=offered(ctx.printer, "the printer"), clock=ctx.clock,
        follows_rig_clock=follows_rig_clock, evidence=ctx.evidence,
    )  # fmt: skip


class ReferenceKioskParty:
    """The reference kiosk (or the selftest variant the topology names) in the rig's process,
    configured from the endpoints of the parties started before it."""

    def __init__(self, ctx: BuildContext):
        self.ctx = ctx
        self.slot = _slot(ctx, "the reference kiosk")
        urls = ctx.endpoints
        config = KioskConfig(
            reader_name=self.slot.reader_name,
            bill_validator_port=urls["bill_validator_port"],
            coin_port=urls["coin_port"],
            ipp_uri=urls["ipp_uri"],
            ipp_receipt_uri=urls["ipp_receipt_uri"],
            centre_url=urls["center_url"],
            client_certificate=ctx.tls.kiosk_client(KIOSK_ID),
            server_ca=ctx.tls.server_ca,
            kiosk_id=KIOSK_ID,
        )
        config = replace(config, **ctx.options.kiosk_overrides)
        # a selftest defect, or the reference
        kiosk_cls = variant_class(ctx.options.topology, "kiosk", ReferenceKiosk)
        self.reference_kiosk: ReferenceKiosk | None = kiosk_cls(
            ctx.clock, ctx.evidence, ctx.folder / "kiosk", config
        )
        self.kiosk = self.reference_kiosk
        self.robot_client: RobotClient | None = None
        self.customer: Customer | None = None
        self.faults: None = None

    def start(self) -> dict[str, str]:
        ctx = self.ctx
        urls = self.kiosk.start()
        self.robot_client = RobotClient(urls["robot_url"])
        self.customer = _customer(ctx, self.robot_client, self.slot, follows_rig_clock=True)
        return urls

    def disconnect(self) -> None:
        """The robot client goes first, before any party stops."""
        if self.robot_client is not None:
            self.robot_client.close()

    def stop(self) -> None:
        self.disconnect()
        self.kiosk.stop()

    def restart(self) -> None:
        """The kiosk application restarts: this kiosk stops and a new one of the same class
        starts on the same state folder, devices and configuration. The party then holds the
        new one, so that the world's end stops it (a restarted kiosk left running went on
        polling the reader and took the next scenario's card in the same process)."""
        old = self.kiosk
        self.stop()
        self.reference_kiosk = self.kiosk = type(old)(
            self.ctx.clock, self.ctx.evidence, old.state_dir, old.config
        )
        self.start()

    def health(self) -> PartyHealth:
        return self.kiosk.health()


class ExternalKiosk:
    """The kiosk under test: at `start()` it is reset (back to standby with its devices
    reopened on this world's parties) and, with kiosk overrides, reconfigured through the
    robot protocol's configuration extension."""

    def __init__(self, ctx: BuildContext):
        self.ctx = ctx
        self.slot = _slot(ctx, "the kiosk under test")
        self.robot_url = required(required(ctx.options.topology).kiosk.robot_url)
        self.reference_kiosk: ReferenceKiosk | None = None
        self.robot_client: RobotClient | None = None
        self.customer: Customer | None = None
        self._connected = False
        #: the rig schedules no faults on a device under test
        self.faults: None = None

    def start(self) -> dict[str, str]:
        ctx = self.ctx
        self.robot_client = RobotClient(self.robot_url)
        self._connected = True
        self.robot_client.reset()
        info = self.robot_client.info()
        self.customer = _customer(
            ctx, self.robot_client, self.slot, follows_rig_clock=info.follows_rig_clock
        )
        if ctx.options.kiosk_overrides:
            from rig.harness.kiosk_reconfigure import reconfigure

            reconfigure(self.customer, ctx.options.kiosk_overrides)
        return {"robot_url": self.robot_url}

    def disconnect(self) -> None:
        """Close the robot client (the kiosk itself runs on; the next world resets it)."""
        self._connected = False
        if self.robot_client is not None:
            self.robot_client.close()

    def stop(self) -> None:
        self.disconnect()

    def health(self) -> PartyHealth:
        """Up while connected and the adapter answers `GET /info` (read-only)."""
        client = self.robot_client
        if client is None or not self._connected:
            return PartyHealth.down("not connected (not started, or stopped)")
        try:
            answer = client.http.get("/info", timeout=PROBE_S)
        except httpx.HTTPError as exc:
            return PartyHealth.down(f"{self.robot_url}: no answer ({type(exc).__name__})")
        if answer.is_error:
            return PartyHealth.down(f"{self.robot_url}: /info answered {answer.status_code}")
        return PartyHealth.ok()


def emulated(ctx: BuildContext) -> ReferenceKioskParty:
    party = ReferenceKioskParty(ctx)
    ctx.kiosk = party
    return party


def external(ctx: BuildContext) -> ExternalKiosk:
    party = ExternalKiosk(ctx)
    ctx.kiosk = party
    return party

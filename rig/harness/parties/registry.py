"""The party kinds of a world, in build order, and the factory for each (kind, mode).

The emulated/external choice is made here, once, from the topology's `mode` for the kind;
nothing after it asks. `start_parties` builds and starts each kind in order, merging what
each offers into the build context; if one fails, those started are stopped in reverse.
`stop_parties` lets the kiosk's robot client go first, then stops them side by side (each
server's shutdown waits out a poll interval), the kiosk first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rig.core.party import Party
from rig.harness.config import Mode, Topology
from rig.harness.parties import emulated, kiosk, municipal
from rig.harness.parties.context import BuildContext, Seat
from rig.harness.parties.options import WorldOptions

Factory = Callable[[BuildContext], Party]
#: what a kind adds to the world's endpoints, from what its `start()` returned
Offer = Callable[[BuildContext, dict[str, str]], dict[str, str]]


class NoStandIn(ValueError):
    """The topology marks a party external that the rig cannot leave to a device under test."""


class MissingEndpoints(RuntimeError):
    """A party's `start()` left out an endpoint key its kind documents."""


@runtime_checkable
class Disconnecting(Protocol):
    """A party that lets go of a device under test (or the robot client that drives one)
    before the world's servers stop: `stop_parties` calls it first, one party at a time."""

    def disconnect(self) -> None: ...


def _as_is(ctx: BuildContext, endpoints: dict[str, str]) -> dict[str, str]:
    return endpoints


def _always(options: WorldOptions) -> bool:
    return True


@dataclass(frozen=True)
class PartyKind:
    """One kind of party: its factories by mode, whether this world wants it, the topology
    section that holds its mode (None: the rig always plays it), what it offers."""

    name: str
    factories: Mapping[Mode, Factory]
    #: the endpoint keys its `start()` returns (docs/architecture.md), at least
    keys: frozenset[str]
    section: str | None = None
    wanted: Callable[[WorldOptions], bool] = _always
    offer: Offer = _as_is
    #: how its object is let go at the world's end, when not by `stop()`
    retire: Callable[[Party], None] | None = None

    def mode(self, topology: Topology | None) -> Mode:
        if topology is None or self.section is None:
            return Mode.EMULATED
        mode: Mode = getattr(topology, self.section).mode
        return mode

    def factory(self, topology: Topology | None) -> Factory:
        mode = self.mode(topology)
        try:
            return self.factories[mode]
        except KeyError:
            raise NoStandIn(
                f"the topology marks the {self.name} {mode.value}: the rig has no stand-in "
                f"for an {mode.value} {self.name} (modes: {', '.join(self.factories)})"
            ) from None


def _close_books(party: Party) -> None:
    from emulators.cash import CashUnit

    assert isinstance(party, CashUnit)
    party.close()  # the world is done with the ledger: stop serving and close the books


#: build order: a kind comes after every kind whose offers it takes
KINDS: tuple[PartyKind, ...] = (
    PartyKind(
        "municipal issuance server",
        {Mode.EMULATED: municipal.emulated, Mode.EXTERNAL: municipal.external},
        frozenset({"base"}),  # and one URL per municipality code
        section="municipal",
        offer=municipal.offer,
    ),
    PartyKind(
        "JPKI OCSP responder",
        {Mode.EMULATED: emulated.ocsp},
        frozenset({"ocsp_url"}),
        section="jpki",
    ),
    PartyKind(
        "issuance centre",
        {Mode.EMULATED: emulated.centre},
        frozenset({"center_url"}),
        section="centre",
    ),
    PartyKind(
        "printer",
        {Mode.EMULATED: emulated.printer},
        frozenset({"ipp_uri", "ipp_receipt_uri"}),
        section="printer",
    ),
    PartyKind(
        "cash unit",
        {Mode.EMULATED: emulated.cash},
        frozenset({"bill_validator_port", "coin_port"}),
        section="cash",
        retire=_close_books,
    ),
    PartyKind(
        "verification site",
        {Mode.EMULATED: emulated.verification},
        frozenset({"verify_url", "verify_api", "compare_api"}),
        wanted=lambda options: options.with_verification_site,
    ),
    PartyKind(
        "kiosk",
        {Mode.EMULATED: kiosk.emulated, Mode.EXTERNAL: kiosk.external},
        frozenset({"robot_url"}),
        section="kiosk",
        wanted=lambda options: options.with_kiosk,
    ),
)

#: where the kiosk-facing parties serve, by the kiosk's mode
SEATS: Mapping[Mode, Callable[[Topology | None, WorldOptions], Seat]] = {
    Mode.EMULATED: kiosk.emulated_seat,
    Mode.EXTERNAL: kiosk.external_seat,
}


def kind(name: str) -> PartyKind:
    return next(k for k in KINDS if k.name == name)


def seat(options: WorldOptions) -> Seat:
    return SEATS[kind("kiosk").mode(options.topology)](options.topology, options)


@dataclass(frozen=True)
class Started:
    kind: PartyKind
    party: Party
    endpoints: dict[str, str]

    def stop(self) -> None:
        if self.kind.retire is not None:
            self.kind.retire(self.party)
        else:
            self.party.stop()


def start_parties(ctx: BuildContext, kinds: Sequence[PartyKind] = KINDS) -> list[Started]:
    """Every kind this world wants, built and started in order; endpoints merged into
    `ctx.endpoints`. A mode without a stand-in is refused before anything starts; on a failure
    those started are stopped, last first, and the error raised."""
    topology = ctx.options.topology
    plan = [(k, k.factory(topology)) for k in kinds if k.wanted(ctx.options)]
    started: list[Started] = []
    try:
        for party_kind, factory in plan:
            party = factory(ctx)
            endpoints = party.start()
            started.append(Started(party_kind, party, endpoints))
            missing = party_kind.keys - set(endpoints)
            if missing:
                raise MissingEndpoints(
                    f"the {party_kind.name} ({type(party).__name__}) started without "
                    f"{', '.join(sorted(missing))}"
                )
            ctx.endpoints.update(party_kind.offer(ctx, endpoints))
    except BaseException:
        for done in reversed(started):
            done.stop()
        raise
    return started


def stop_parties(started: list[Started]) -> None:
    """First, last built first, what drives or holds a device lets go (the kiosk's robot
    client, then an external issuance server's test clock); then every party stops, side by
    side, the kiosk submitted first."""
    if not started:
        return
    for done in reversed(started):
        if isinstance(done.party, Disconnecting):
            done.party.disconnect()
    with ThreadPoolExecutor(len(started)) as pool:
        for future in [pool.submit(done.stop) for done in reversed(started)]:
            future.result()

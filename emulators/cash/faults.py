"""Fault plans for the cash unit, as data (a dict from YAML/JSON or a `FaultPlan`).

Counts are 1-based and count from the start of the `CashUnit`: "jam on the 2nd bill" means
the 2nd bill the acceptor pulls in after `start()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from emulators.cash.money import COIN_DENOMINATIONS
from rig.core.protocols import cctalk, id003

#: Hopper fill when a state dir is used for the first time (pieces per coin).
DEFAULT_HOPPER_FILL: dict[int, int] = {10: 50, 50: 50, 100: 50, 500: 20}


class FaultPlanError(ValueError):
    """A fault plan that names an unknown fault or an impossible value."""


#: Links a reply corruption can target, and the ways each can corrupt a reply.
CORRUPTIONS: dict[str, tuple[str, ...]] = {
    "id003": ("crc", "length"),
    "cctalk": ("checksum", "length"),
}
#: ccTalk `match` for a READ BUFFERED CREDIT answer carrying an event (a coin credit or a
#: coin error) the host has not yet received intact.
NEW_COIN_EVENT = "NEW_COIN_EVENT"


def _match_names(link: str) -> frozenset[str]:
    if link == "id003":
        return frozenset(id003.Status.__members__) | frozenset(id003.Command.__members__)
    return frozenset(cctalk.Header.__members__) | {NEW_COIN_EVENT}


@dataclass
class ReplyCorruption:
    """Corrupt some of the device's replies on one link, so the host must discard them.

    ``match`` narrows which replies count: on ``id003`` the status or answer the reply
    carries (``ESCROW``, ``VEND_VALID``, ``ACK``...); on ``cctalk`` the header of the request
    answered (``READ_BUFFERED_CREDIT``, ``DISPENSE_HOPPER_COINS``...) or ``NEW_COIN_EVENT``.
    The first ``after`` matching replies go out intact, the next ``count`` are corrupted,
    and later ones are intact again (a large ``count`` makes the corruption persist). With
    ``sticky`` the first corrupted reply breaks the line: from then on every reply on the
    link counts, whatever it matches, until ``count`` replies have been corrupted.
    """

    link: str
    count: int = 1
    match: str | None = None
    after: int = 0
    #: id003: ``crc`` (CRC bytes inverted) or ``length`` (LNG one too large); cctalk:
    #: ``checksum`` (checksum byte inverted) or ``length`` (LEN one too large).
    how: str | None = None
    #: ccTalk only: only replies from this device address (2 coin acceptor, 3-6 hoppers).
    address: int | None = None
    sticky: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any] | ReplyCorruption) -> ReplyCorruption:
        if isinstance(data, ReplyCorruption):
            return data
        if not isinstance(data, dict):
            raise FaultPlanError(f"corrupt_replies entries must be mappings, got {data!r}")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise FaultPlanError(
                f"corrupt_replies: unknown key(s) {sorted(unknown)}; known: {sorted(known)}"
            )
        if "link" not in data:
            raise FaultPlanError("corrupt_replies: each entry needs a link (id003 or cctalk)")
        rule = cls(**data)
        rule.validate()
        return rule

    @property
    def mode(self) -> str:
        """How replies are corrupted (the link's first way unless `how` says otherwise)."""
        return self.how or CORRUPTIONS[self.link][0]

    def validate(self) -> None:
        where = f"corrupt_replies[{self.link!r}]"
        if self.link not in CORRUPTIONS:
            raise FaultPlanError(
                f"corrupt_replies: unknown link {self.link!r}; use id003 or cctalk"
            )
        for name, low in (("count", 1), ("after", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise FaultPlanError(f"{where}: {name} must be an integer >= {low}, got {value!r}")
        if not isinstance(self.sticky, bool):
            raise FaultPlanError(f"{where}: sticky must be true or false, got {self.sticky!r}")
        if self.how is not None and self.how not in CORRUPTIONS[self.link]:
            raise FaultPlanError(
                f"{where}: how must be one of {CORRUPTIONS[self.link]}, got {self.how!r}"
            )
        if self.match is not None and self.match not in _match_names(self.link):
            raise FaultPlanError(f"{where}: nothing on this link is called {self.match!r}")
        if self.address is not None:
            if self.link != "cctalk":
                raise FaultPlanError(f"{where}: address applies to cctalk only")
            devices = {cctalk.COIN_ACCEPTOR_ADDRESS, *cctalk.HOPPER_ADDRESSES}
            if self.address not in devices:
                raise FaultPlanError(f"{where}: no device at ccTalk address {self.address!r}")


@dataclass
class FaultPlan:
    """What goes wrong, and when. Every field is optional; the default is a healthy unit."""

    #: The Nth bill pulled in jams in the acceptor head (status 0x45) until cleared.
    acceptor_jam_on_bill: int | None = None
    #: The Nth STACK jams in the stacker transport (status 0x46) until cleared.
    stacker_jam_on_stack: int | None = None
    #: The cassette reports STACKER FULL (0x43) once it holds this many bills.
    cassette_capacity: int | None = None
    #: Power fails while the Nth STACK is in progress (bill between head and cassette).
    power_loss_on_stack: int | None = None
    #: The Nth coin inserted jams in the coin acceptor (error code 14) until cleared.
    coin_jam_on_coin: int | None = None
    #: Hopper yen → the Nth coin it pays out jams (payout stops, opto blocked).
    hopper_jam_on_coin: dict[int, int] = field(default_factory=dict)
    #: Hopper yen → pieces loaded when the state dir is new (overrides the default fill).
    hopper_coins: dict[int, int] = field(default_factory=dict)
    #: A hopper reports LOW LEVEL at or below this many coins.
    hopper_low_level: int = 5
    #: Replies the devices send corrupted (bad CRC / checksum / length): `ReplyCorruption`s.
    corrupt_replies: list[ReplyCorruption] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> FaultPlan:
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise FaultPlanError(f"unknown fault(s) {sorted(unknown)}; known: {sorted(known)}")
        plan = cls(**data)
        plan.hopper_jam_on_coin = {int(k): int(v) for k, v in plan.hopper_jam_on_coin.items()}
        plan.hopper_coins = {int(k): int(v) for k, v in plan.hopper_coins.items()}
        if not isinstance(plan.corrupt_replies, list):
            raise FaultPlanError("corrupt_replies must be a list of corruptions")
        plan.corrupt_replies = [ReplyCorruption.from_dict(r) for r in plan.corrupt_replies]
        plan.validate()
        return plan

    def validate(self) -> None:
        for name in (
            "acceptor_jam_on_bill",
            "stacker_jam_on_stack",
            "cassette_capacity",
            "power_loss_on_stack",
            "coin_jam_on_coin",
        ):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise FaultPlanError(f"{name} must be a positive integer, got {value!r}")
        for name in ("hopper_jam_on_coin", "hopper_coins"):
            for yen, n in getattr(self, name).items():
                if yen not in COIN_DENOMINATIONS:
                    raise FaultPlanError(f"{name}: no {yen} yen hopper")
                if n < 0 or (name == "hopper_jam_on_coin" and n < 1):
                    raise FaultPlanError(f"{name}[{yen}] out of range: {n}")
        if self.hopper_low_level < 0:
            raise FaultPlanError("hopper_low_level must not be negative")
        for rule in self.corrupt_replies:
            rule.validate()

    def initial_fill(self) -> dict[int, int]:
        fill = dict(DEFAULT_HOPPER_FILL)
        fill.update(self.hopper_coins)
        return fill


class FaultCounters:
    """Runtime counters that decide when a planned fault fires (one per unit run)."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.bills = 0
        self.stacks = 0
        self.coins = 0
        self.paid: dict[int, int] = {}
        #: per `plan.corrupt_replies` entry: matching replies seen so far
        self.replies_seen = [0] * len(plan.corrupt_replies)

    def next_bill_jams(self) -> bool:
        self.bills += 1
        return self.bills == self.plan.acceptor_jam_on_bill

    def next_stack(self) -> int:
        self.stacks += 1
        return self.stacks

    def stack_jams(self, stack_no: int) -> bool:
        return stack_no == self.plan.stacker_jam_on_stack

    def stack_loses_power(self, stack_no: int) -> bool:
        return stack_no == self.plan.power_loss_on_stack

    def next_coin_jams(self) -> bool:
        self.coins += 1
        return self.coins == self.plan.coin_jam_on_coin

    def next_payout_jams(self, yen: int) -> bool:
        self.paid[yen] = self.paid.get(yen, 0) + 1
        return self.paid[yen] == self.plan.hopper_jam_on_coin.get(yen)

    def cassette_full(self, bills_in_cassette: int) -> bool:
        cap = self.plan.cassette_capacity
        return cap is not None and bills_in_cassette >= cap

    def corrupt_reply(
        self, link: str, names: frozenset[str], address: int | None = None
    ) -> str | None:
        """How to corrupt the reply about to go out (None: send it intact).

        `names` are what the reply matches (its status, or the header it answers and
        NEW_COIN_EVENT); every matching rule counts the reply, the first due one corrupts it.
        """
        how: str | None = None
        for i, rule in enumerate(self.plan.corrupt_replies):
            if rule.link != link:
                continue
            broken = rule.sticky and self.replies_seen[i] > rule.after
            if not broken and rule.match is not None and rule.match not in names:
                continue
            if not broken and rule.address is not None and rule.address != address:
                continue
            self.replies_seen[i] += 1
            if how is None and rule.after < self.replies_seen[i] <= rule.after + rule.count:
                how = rule.mode
        return how


def corrupt_id003(reply: bytes, how: str) -> bytes:
    """An ID-003 frame the host must discard: CRC bytes inverted, or LNG one too large."""
    if how == "length":
        return reply[:1] + bytes(((reply[1] + 1) & 0xFF,)) + reply[2:]
    return reply[:-2] + bytes(b ^ 0xFF for b in reply[-2:])


def corrupt_cctalk(reply: bytes, how: str) -> bytes:
    """A ccTalk frame the host must discard: checksum inverted, or LEN one too large."""
    if how == "length":
        return reply[:1] + bytes(((reply[1] + 1) & 0xFF,)) + reply[2:]
    return reply[:-1] + bytes((reply[-1] ^ 0xFF,))

"""Fault plans for the cash unit, as data (a dict from YAML/JSON or a `FaultPlan`).

Counts are 1-based and count from the start of the `CashUnit`: "jam on the 2nd bill" means
the 2nd bill the acceptor pulls in after `start()`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from emulators.cash.money import COIN_DENOMINATIONS

#: Hopper fill when a state dir is used for the first time (pieces per coin).
DEFAULT_HOPPER_FILL: dict[int, int] = {10: 50, 50: 50, 100: 50, 500: 20}


class FaultPlanError(ValueError):
    """A fault plan that names an unknown fault or an impossible value."""


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
        plan.validate()
        return plan

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

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

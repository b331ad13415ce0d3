"""What a customer can put into the cash unit: bills (紙幣) and coins (硬貨), genuine or not."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

BILL_DENOMINATIONS = (1000, 2000, 5000, 10000)
COIN_DENOMINATIONS = (10, 50, 100, 500)

Form = Literal["bill", "coin"]


class Authenticity(StrEnum):
    GENUINE = "genuine"
    COUNTERFEIT = "counterfeit"  # 偽造
    FOREIGN = "foreign"  # 外国通貨
    DAMAGED = "damaged"  # 損傷 (torn, unreadable)


@dataclass(frozen=True, order=True)
class Item:
    """One bill or coin. Only genuine yen has value; the rest is tracked as objects."""

    form: Form
    yen: int
    authenticity: Authenticity = Authenticity.GENUINE

    @property
    def value(self) -> int:
        return self.yen if self.authenticity is Authenticity.GENUINE else 0

    def label(self) -> str:
        tag = "" if self.authenticity is Authenticity.GENUINE else f" ({self.authenticity})"
        return f"{self.yen} yen {self.form}{tag}"


class MoneyError(ValueError):
    """An item the rig cannot make (a 3,000 yen bill, a 5 yen coin in this unit)."""


def bill(yen: int, kind: Authenticity | str = Authenticity.GENUINE) -> Item:
    authenticity = Authenticity(kind)
    if authenticity is Authenticity.GENUINE and yen not in BILL_DENOMINATIONS:
        raise MoneyError(f"there is no genuine {yen} yen bill; use {BILL_DENOMINATIONS}")
    return Item("bill", yen, authenticity)


def coin(yen: int, kind: Authenticity | str = Authenticity.GENUINE) -> Item:
    authenticity = Authenticity(kind)
    if authenticity is Authenticity.GENUINE and yen not in COIN_DENOMINATIONS:
        raise MoneyError(f"this unit takes {COIN_DENOMINATIONS} yen coins, not {yen}")
    return Item("coin", yen, authenticity)

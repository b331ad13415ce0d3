"""Refusal codes: a stable code, its HTTP status, a title and the kiosk's guidance.

The centre's own codes (`rig.core.protocols.centre.CentreCode`), its statistics-access codes and
the municipal issuance server's refusals are enums of `Reason`s built on `ReasonCode`, so a
code is spelled and mapped to its status in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class Reason:
    status: int
    title: str
    message_ja: str


class ReasonCode(Enum):
    """Base of the refusal-code enums; every member's value is a `Reason`."""

    @property
    def code(self) -> str:
        """The stable code on the wire: the member's name in lower case."""
        return self.name.lower()

    @property
    def status(self) -> int:
        status: int = self.value.status
        return status

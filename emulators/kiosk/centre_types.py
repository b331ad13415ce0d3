"""What the kiosk's flow gets from the issuance centre, independent of the wire.

`emulators.kiosk.centre.CentreLink` is the one module that talks to the centre; its answers
and errors reach the flow as these types and exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class CentreRefusal(Exception):
    """The centre (or the municipality through it) said no; `code` picks the guidance."""

    def __init__(
        self,
        code: str,
        message_ja: str | None = None,
        *,
        status: int = 0,
        source: str = "centre",
        tries_left: int | None = None,
    ):
        super().__init__(f"{status} {code}")
        self.code = code
        self.message_ja = message_ja
        self.status = status
        self.source = source
        self.tries_left = tries_left


class CentreUnreachable(Exception):
    """No answer from the centre (connection, TLS or time-out), or one that cannot be read."""


@dataclass(frozen=True)
class CentreSession:
    session_id: str
    nonce: bytes


@dataclass(frozen=True)
class Member:
    member_id: str
    name: str
    relationship: str


@dataclass(frozen=True)
class MenuItem:
    type: str
    variant: str | None
    title: str
    fee: int
    paper: str
    options: tuple[str, ...]
    available: bool
    refusal_code: str | None = None
    refusal_message: str | None = None


@dataclass
class Menu:
    municipality_code: str
    municipality_name: str
    max_copies: int
    household: list[Member] = field(default_factory=list)
    tax_years: list[int] = field(default_factory=list)
    certificates: list[MenuItem] = field(default_factory=list)
    applicant_name: str = ""

    def items_of(self, cert_type: str) -> list[MenuItem]:
        return [item for item in self.certificates if item.type == cert_type]


@dataclass(frozen=True)
class Issued:
    """A certificate request the centre accepted (the document is fetched separately)."""

    request_id: str
    title: str
    pages: int
    copies: int
    fee_per_copy: int
    total_fee: int

"""One customer's transaction and everything it holds, with the erasure the seed demands.

証明書データの不保持 (seed I.1 (2)): after printing and after any cancellation the kiosk
erases the certificate document, the card's certificate, the PIN buffer and the personal
data of the menu (names of the household). Byte buffers are overwritten before they are
dropped; Python cannot promise that no copy survives in freed memory, so nothing is ever
written to disk and buffers are kept as few and as short-lived as possible.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from emulators.kiosk.card_apps import CardKind
from emulators.kiosk.centre_types import CentreSession, Issued, Menu, MenuItem
from rig.core.protocols.card_ap import CardApInfo
from rig.core.protocols.robot import HeldData, Method


def _wipe(buffer: bytearray | None) -> None:
    if buffer is not None:
        buffer[:] = b"\x00" * len(buffer)
        buffer.clear()


@dataclass
class Choice:
    """What the customer chose on screens ⑤–⑨."""

    cert_type: str | None = None
    variant: str | None = None
    scope: str | None = None
    members: list[str] = field(default_factory=list)
    items: dict[str, bool] = field(default_factory=dict)
    fiscal_year: int | None = None
    copies: int = 1
    pin_done: bool = False

    def item(self, menu: Menu) -> MenuItem | None:
        for candidate in menu.items_of(self.cert_type or ""):
            if candidate.variant == self.variant or candidate.variant is None:
                return candidate
        return None


@dataclass
class Transaction:
    method: Method
    card_kind: CardKind
    txn_id: str = field(default_factory=lambda: secrets.token_hex(6))
    auth_certificate: bytearray | None = None
    card_ap: CardApInfo | None = None
    session: CentreSession | None = None
    menu: Menu | None = None
    choice: Choice = field(default_factory=Choice)
    issued: Issued | None = None
    document: bytearray | None = None
    pin: bytearray = field(default_factory=bytearray)
    credit: int = 0
    fee_collected: int = 0
    printed: bool = False

    def held(self) -> HeldData:
        personal: list[str] = []
        if self.menu is not None:
            if self.menu.household:
                personal.append("household_names")
            if self.menu.applicant_name:
                personal.append("applicant_name")
        if self.pin:
            personal.append("pin_digits")
        card_data = int(bool(self.auth_certificate)) + int(self.card_ap is not None)
        return HeldData(
            documents=int(bool(self.document)),
            document_bytes=len(self.document or b""),
            card_data=card_data,
            personal_data=personal,
            open_session=self.session is not None,
        )

    def clear_pin(self) -> None:
        _wipe(self.pin)

    def erase_document(self) -> None:
        _wipe(self.document)
        self.document = None

    def erase_certificate(self) -> None:
        _wipe(self.auth_certificate)
        self.auth_certificate = None

    def erase(self) -> None:
        """Forget everything about the customer (after printing, cancellation, time-out)."""
        self.clear_pin()
        self.erase_document()
        self.erase_certificate()
        self.card_ap = None
        self.menu = None
        self.session = None
        self.choice = Choice()

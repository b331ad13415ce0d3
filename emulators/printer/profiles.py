"""What a printer holds and offers: the certificate printer (A4, duplex) and the receipt printer.

The kiosk prints certificates (証明書) on A4 plain paper, both sides; A5 certificate data
sits in the centre of the A4 sheet (seed I.4.1 (8)). The receipt (領収書, screen ⑮) comes
from a separate, narrow roll printer: the rig serves it as a second IPP printer on the same
server, with its own output tray, so a kiosk that prints receipts on its A4 printer can
simply point both paths at the first one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str  # also the last part of the IPP resource path, /ipp/<name>
    make_and_model: str
    info: str
    media_default: str
    media_supported: tuple[str, ...]
    #: the medium's width and height in mm; height None for a roll (any length up to max)
    medium_mm: tuple[float, float | None]
    max_length_mm: float
    sides_supported: tuple[str, ...]
    paper_capacity: int
    #: keep the text layer of each printed page with its sheet (receipts only: a receipt
    #: carries no personal data, a certificate does)
    keeps_text: bool = False

    @property
    def resource(self) -> str:
        return f"/ipp/{self.name}"


CERTIFICATE = Profile(
    name="print",
    make_and_model="Konbini Rig Virtual Duplex Printer",
    info="Certificate printer (A4, duplex)",
    media_default="iso_a4_210x297mm",
    media_supported=("iso_a4_210x297mm",),
    medium_mm=(210.0, 297.0),
    max_length_mm=297.0,
    sides_supported=("one-sided", "two-sided-long-edge"),
    paper_capacity=500,
)

RECEIPT = Profile(
    name="receipt",
    make_and_model="Konbini Rig Virtual Receipt Printer",
    info="Receipt printer (80 mm roll)",
    media_default="roll_max_80x300mm",
    media_supported=("roll_max_80x300mm", "roll_min_80x50mm"),
    medium_mm=(80.0, None),
    max_length_mm=300.0,
    sides_supported=("one-sided",),
    paper_capacity=1000,
    keeps_text=True,
)

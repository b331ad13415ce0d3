"""Per-screen state of the kiosk's flow that is not the customer's transaction."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Notice:
    code: str
    message: str
    source: str = "kiosk"
    refund_yen: int | None = None
    unpaid_yen: int | None = None


@dataclass
class UiState:
    """Per-screen state that is not the transaction's (error lines, jobs, poll times)."""

    pin_tries: int | None = None
    pin_error: str | None = None
    copies_error: str | None = None
    notice: Notice | None = None
    print_job: int | None = None
    printer_problem: str | None = None
    receipt_job: int | None = None
    #: the receipt printer's printer-uuid when this transaction's printing began
    receipt_printer: str | None = None
    receipt_printed: bool = False
    change_yen: int = 0
    change_unpaid: int = 0
    next_printer_poll: float = 0.0
    forgotten: list[str] = field(default_factory=list)
    tray_sheets: int = 0
    card_on_reader: bool = False
    cash_faults_seen: int = 0
    cash_fault: bool = False

"""The virtual duplex printer (仮想プリンタ): IPP, Ghostscript engine, trays and faults.

See docs/printer.md. Entry point: `VirtualPrinter(clock, evidence, capture_dir, port=0)`.
"""

from emulators.printer.faults import Fault, FaultKind
from emulators.printer.launcher import VirtualPrinter
from emulators.printer.sheets import Sheet

__all__ = ["Fault", "FaultKind", "Sheet", "VirtualPrinter"]

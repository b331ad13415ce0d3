"""Defective variants of the reference kiosk, for `rig selftest` only (docs/selftest.md).

Each variant is a subclass of `ReferenceKiosk` that swaps one part (its flow, cash desk or
print station, the class attributes of `ReferenceKiosk`) for a subclass with one realistic
defect. They live here, inside the kiosk's own package, because a variant subclasses the
kiosk's classes and emulators never import each other; the reference code has no defect
branch. The rig picks a variant by name from the topology's `defects:` list
(rig/harness/selftest/pack.py names them); nothing else uses this package.
"""

from emulators.kiosk.defects.variants import (
    CountsSheetsKiosk,
    DropsLastPageKiosk,
    KeepsDocumentKiosk,
    NoRefundOnCancelKiosk,
    PreviousApplicantsDocumentKiosk,
    PrintTimeoutKeepsJobKiosk,
    ShortChangeKiosk,
    SimplexKiosk,
)

__all__ = [
    "CountsSheetsKiosk",
    "DropsLastPageKiosk",
    "KeepsDocumentKiosk",
    "NoRefundOnCancelKiosk",
    "PreviousApplicantsDocumentKiosk",
    "PrintTimeoutKeepsJobKiosk",
    "ShortChangeKiosk",
    "SimplexKiosk",
]

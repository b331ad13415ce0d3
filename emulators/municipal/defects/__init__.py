"""Defective variants of the emulated issuance server, for `rig selftest` only.

Each variant is a subclass of `MunicipalServer` whose `service_class` is a subclass of
`IssuanceService` with one realistic defect, built on the service's overridable steps
(`_check_open`, `_check_applicant`, `_build_content`, `session`, `issue`, `statistics`).
They live inside the municipal package because they subclass its classes and emulators
never import each other; the reference server has no defect branch. The rig picks a
variant by name from the topology's `defects:` list (rig/harness/selftest/pack.py,
docs/selftest.md).
"""

from emulators.municipal.defects.variants import (
    ClosingSecondServer,
    CountsDocumentsServer,
    CountsSheetsServer,
    CrossTalkServer,
    ForeignPageServer,
    StaleSealServer,
    SupportMeasureIgnoredServer,
    WrongHouseholdServer,
)

__all__ = [
    "ClosingSecondServer",
    "CountsDocumentsServer",
    "CountsSheetsServer",
    "CrossTalkServer",
    "ForeignPageServer",
    "StaleSealServer",
    "SupportMeasureIgnoredServer",
    "WrongHouseholdServer",
]

"""The defect pack: every defective variant the selftest knows, by name.

A defect names its party (the kiosk or the municipal issuance server), the variant class
(`module:Class`, imported only when a world is built with it), the catalogue area and the
incident it stands for, and the requirements whose scenarios should catch it. The plan
that runs it is the one its party's owner would run: kiosk-conformance for a kiosk vendor,
municipal-server for a municipality (seed II.5).

More defects can come from outside the tree: `RIG_DEFECT_PACKS` lists modules (comma
separated) that each define `DEFECTS: tuple[Defect, ...]` (docs/selftest.md).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Literal

Party = Literal["kiosk", "municipal"]
#: The plan the owner of each party runs (rig/harness/plans/).
OWNER_PLAN: dict[str, str] = {"kiosk": "kiosk-conformance", "municipal": "municipal-server"}
EXTRA_PACKS_ENV = "RIG_DEFECT_PACKS"


class DefectPackError(ValueError):
    """A defect name or an extra pack the rig cannot use."""


@dataclass(frozen=True)
class Defect:
    name: str
    party: Party
    variant: str
    area: str
    stands_for: str
    summary: str
    requirements: tuple[str, ...]

    @property
    def plan(self) -> str:
        return OWNER_PLAN[self.party]


_K = "emulators.kiosk.defects"
_M = "emulators.municipal.defects"

DEFECTS: tuple[Defect, ...] = (
    # -- the reference kiosk (a kiosk vendor's kiosk-conformance plan) -----------------------
    Defect(
        "kiosk-short-change", "kiosk", f"{_K}:ShortChangeKiosk", "cash",
        "change short by 10 yen",
        "pays change 10 yen short while believing it paid it all",
        ("PAY-004", "PAY-013"),
    ),
    Defect(
        "kiosk-no-refund-on-cancel", "kiosk", f"{_K}:NoRefundOnCancelKiosk", "cash",
        "no refund on cancel",
        "a cancelled or timed-out payment keeps the money already inserted",
        ("PAY-007",),
    ),
    Defect(
        "kiosk-simplex", "kiosk", f"{_K}:SimplexKiosk", "printing",
        "simplex instead of duplex",
        "prints certificates one-sided: the anti-forgery back is missing",
        ("PRINT-001", "PRINT-002"),
    ),
    Defect(
        "kiosk-drops-last-page", "kiosk", f"{_K}:DropsLastPageKiosk", "printing",
        "one page of a multi-page document missing",
        "drops the last page of a multi-page certificate before printing",
        ("PRINT-005",),
    ),
    Defect(
        "kiosk-keeps-document", "kiosk", f"{_K}:KeepsDocumentKiosk", "privacy",
        "certificate data kept after the session",
        "keeps the printed certificate in a reprint buffer (and says so on /held)",
        ("PRIV-001", "PRIV-002"),
    ),
    Defect(
        "kiosk-counts-sheets", "kiosk", f"{_K}:CountsSheetsKiosk", "statistics",
        "counts sheets instead of copies",
        "reports sheets printed (pages × copies) to the centre as copies printed",
        ("PRINT-005", "STAT-001", "PAY-013"),
    ),
    Defect(
        "kiosk-print-timeout-keeps-job", "kiosk", f"{_K}:PrintTimeoutKeepsJobKiosk",
        "isolation", "横浜市 2023 (print wait time-out released the wait, not the issuance)",
        "a timed-out or failed print job is never cancelled and comes out for the next applicant",
        ("ISO-001", "ISO-004"),
    ),
    Defect(
        "kiosk-previous-applicants-document", "kiosk",
        f"{_K}:PreviousApplicantsDocumentKiosk", "isolation",
        "宗像市 2023 (the previous user's 住民票 handed out)",
        "prints the document of the previous applicant from a one-slot buffer",
        ("PRIV-004", "ISO-004"),
    ),
    # -- the emulated issuance server (a municipality's municipal-server plan) -----------------
    Defect(
        "server-cross-talk", "municipal", f"{_M}:CrossTalkServer", "isolation",
        "川崎市 2023, 高松市 2024 (near-simultaneous requests, another person's certificate)",
        "keeps the current applicant in one shared variable: a later request overwrites it",
        ("ISO-002", "ISO-005", "ISO-006"),
    ),
    Defect(
        "server-foreign-page", "municipal", f"{_M}:ForeignPageServer", "isolation",
        "徳島市 2023 (page 2 of a 戸籍 belonged to someone else)",
        "page 2 of a multi-page certificate comes from another resident's document",
        ("ISO-003",),
    ),
    Defect(
        "server-wrong-household", "municipal", f"{_M}:WrongHouseholdServer", "isolation",
        "wrong household / a different person's data",
        "住民票 lists another household's members under the applicant's name and number",
        ("CERT-001", "ISO-003"),
    ),
    Defect(
        "server-stale-seal", "municipal", f"{_M}:StaleSealServer", "refusals",
        "新潟市・さいたま市・熊本市 (印鑑登録証明書 for a cancelled seal)",
        "certifies a seal from a per-person cache after the registration was cancelled",
        ("CERT-028",),
    ),
    Defect(
        "server-support-measure-not-refused", "municipal",
        f"{_M}:SupportMeasureIgnoredServer", "refusals",
        "支援措置 (DV protection) person not refused",
        "lets a person under a 支援措置 request log in and see the menu",
        ("CERT-020",),
    ),
    Defect(
        "server-closing-second", "municipal", f"{_M}:ClosingSecondServer", "hours",
        "accepts at the closing second",
        "compares service hours one second late: the closing second itself is open",
        ("HOURS-004",),
    ),
    Defect(
        "server-counts-documents", "municipal", f"{_M}:CountsDocumentsServer", "statistics",
        "counts documents instead of copies",
        "its statistics count one printed copy per document, whatever the copies",
        ("TEST-004",),
    ),
    Defect(
        "server-counts-sheets", "municipal", f"{_M}:CountsSheetsServer", "statistics",
        "counts sheets instead of copies",
        "its statistics count printed sheets (pages × copies) as copies",
        ("TEST-004",),
    ),
)  # fmt: skip


def all_defects() -> tuple[Defect, ...]:
    """The shipped pack plus any extra packs named in `RIG_DEFECT_PACKS`."""
    found = list(DEFECTS)
    for module_name in filter(None, os.environ.get(EXTRA_PACKS_ENV, "").split(",")):
        try:
            module = importlib.import_module(module_name.strip())
        except ImportError as exc:
            raise DefectPackError(f"{EXTRA_PACKS_ENV}: cannot import {module_name!r}") from exc
        extra = getattr(module, "DEFECTS", None)
        if not isinstance(extra, tuple) or not all(isinstance(d, Defect) for d in extra):
            raise DefectPackError(f"{module_name}: DEFECTS must be a tuple of Defect")
        found.extend(extra)
    names = [d.name for d in found]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DefectPackError(f"defect names used twice: {', '.join(duplicated)}")
    return tuple(found)


def find(name: str) -> Defect:
    defects = {d.name: d for d in all_defects()}
    try:
        return defects[name]
    except KeyError:
        raise DefectPackError(
            f"unknown defect {name!r}: choose one of {', '.join(sorted(defects))}"
        ) from None

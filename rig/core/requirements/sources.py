"""The source references a requirement may cite, and the check that a citation names one.

A citation is one of:

- `seed <section>[ <detail>][, p.<page>]`: a section of the J-LIS guide v2.1 (コンビニ交付
  導入検討の手引き), e.g. `seed I.4.2 ⑭, p.9` or `seed III.2.5 (2), p.27`;
- `notes/domain.md: <heading>` or `notes/interfaces.md: <heading>`: a section of the
  project's domain notes (public sources);
- `DESIGN.md: <heading>`: an engineering requirement of the rig's design.

Sections and headings are closed lists so a typo fails the catalogue's validation.
"""

from __future__ import annotations

import re

#: Sections of the seed, with the pages they span in the guide (page numbers printed on it).
SEED_SECTIONS: dict[str, tuple[str, range]] = {
    "I.1": ("サービス概要", range(1, 3)),
    "I.2": ("システム構成イメージ", range(3, 5)),
    "I.3": ("証明書レイアウトイメージ", range(5, 6)),
    "I.4.1": ("サービスの利用手順(JPKI 認証方式)", range(6, 7)),
    "I.4.2": ("画面イメージ(JPKI 認証方式)", range(7, 10)),
    "I.4.3": ("サービスの利用手順(カード AP 認証方式)", range(10, 11)),
    "I.4.4": ("画面イメージ(カード AP 認証方式)", range(11, 14)),
    "II.1": ("導入前の検討", range(14, 16)),
    "II.2": ("導入の準備作業", range(16, 17)),
    "II.3": ("導入時の作業", range(17, 19)),
    "II.4": ("導入の標準スケジュール", range(19, 20)),
    "II.5": ("試験の実施", range(20, 21)),
    "II.6": ("契約について", range(21, 22)),
    "II.7.1": ("サービス提供時間", range(22, 23)),
    "II.7.2": ("障害発生時の対応", range(22, 23)),
    "II.7.3": ("メンテナンス時の対応", range(22, 23)),
    "II.7.4": ("証明書交付手数料等の清算", range(23, 24)),
    "III.1": ("前提条件", range(24, 25)),
    "III.2": ("費用項目", range(25, 26)),
    "III.2.1": ("機器等調達関連", range(25, 27)),
    "III.2.2": ("導入 SI 作業関連", range(26, 27)),
    "III.2.3": ("試験関連", range(26, 27)),
    "III.2.4": ("保守関連", range(26, 28)),
    "III.2.5": ("運用関連", range(27, 28)),
    "III.2.6": ("その他初期費用", range(27, 28)),
}

#: Headings of the notes files and of DESIGN.md that a citation may name.
DOCUMENT_HEADINGS: dict[str, frozenset[str]] = {
    "notes/domain.md": frozenset(
        {
            "Scale",
            "Service hours",
            "Certificates and options",
            "Anti-forgery",
            "JPKI user certificate",
            "Incidents",
        }
    ),
    "notes/interfaces.md": frozenset(
        {"My Number card", "vsmartcard", "Cash", "Printing", "Reporting"}
    ),
    "DESIGN.md": frozenset(
        {
            "Who uses it",
            "Data flow",
            "Layout",
            "Interfaces",
            "Time",
            "Conformance",
            "Scale",
            "Principles",
        }
    ),
}

_SEED = re.compile(
    r"^seed (?P<section>I{1,3}(?:\.\d+)+)(?P<detail> [^,]+)?(?:, p\.(?P<page>\d+))?$"
)
_DOCUMENT = re.compile(r"^(?P<document>[A-Za-z/]+\.md): (?P<heading>.+)$")


def source_problem(citation: str) -> str | None:
    """Why `citation` names no known source, or None when it does."""
    seed = _SEED.match(citation)
    if seed:
        section = seed["section"]
        if section not in SEED_SECTIONS:
            return f"unknown seed section {section!r} in {citation!r}"
        page = seed["page"]
        pages = SEED_SECTIONS[section][1]
        if page is not None and int(page) not in pages:
            return (
                f"page {page} is outside seed {section} "
                f"(pp.{pages.start}-{pages.stop - 1}) in {citation!r}"
            )
        return None
    document = _DOCUMENT.match(citation)
    if document:
        name, heading = document["document"], document["heading"]
        if name not in DOCUMENT_HEADINGS:
            return f"unknown document {name!r} in {citation!r}"
        if heading not in DOCUMENT_HEADINGS[name]:
            known = ", ".join(sorted(DOCUMENT_HEADINGS[name]))
            return f"unknown heading {heading!r} of {name} (known: {known})"
        return None
    return (
        f"source {citation!r} names no seed section, notes file or DESIGN.md "
        "(write 'seed II.7.1, p.22', 'notes/domain.md: Incidents' or 'DESIGN.md: Principles')"
    )

"""Whose data is on each page: the judgement of one issued document (pure functions).

The isolation scenarios and the load campaign judge documents the same way (this module is
the one place): every page carries the municipality's machine-readable line
`RID:<resident> DOC:<document> MUNI:<code> PAGE:<n>/<total>`; a document is the applicant's
when every page names the applicant and their municipality, all pages belong to one document,
they run 1..n with n the announced total and the page count the issuer announced, the names
printed include the applicant's household (when the certificate prints the household) and no
name of another household appears (a name shared with the applicant's own household is never
counted against it, and a stranger's name counts only standing on its own, not inside a
longer name: "林 零" is not printed by "小林 零").

Problem kinds (stable names, counted in load.json):

- `cross_talk`: a page names another resident (someone else's data on this applicant's paper);
- `mixed_pages`: the pages come from more than one document;
- `missing_mark`: a page without the machine-readable line;
- `page_order`: page numbers are not 1..n, or a page's total differs from the page count;
- `wrong_count`: the document has a different number of pages than the issuer announced;
- `wrong_municipality`: a page names another municipality;
- `stranger_name`: the name of someone from another household is printed;
- `missing_name`: a member of the applicant's household is not printed;
- `unreadable`: the bytes are not a PDF whose text can be read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pypdf import PdfReader
from pypdf.errors import PyPdfError

LINE = re.compile(r"RID:(\S+) DOC:(\S+) MUNI:(\d{6}) PAGE:(\d+)/(\d+)")


@dataclass(frozen=True)
class Problem:
    kind: str
    detail: str


@dataclass
class Judgement:
    """What one document turned out to be."""

    pages: int = 0
    document_ids: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def kinds(self) -> set[str]:
        return {p.kind for p in self.problems}


def page_texts_fast(pdf: bytes) -> list[str]:
    """The text of every page as PDFium reads it (pypdfium2): several times cheaper than
    pypdf's extraction, which is most of the load generator's CPU per transaction.
    Raises `ValueError` for bytes PDFium cannot open."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        raise ValueError(f"not a readable PDF: {exc}") from exc
    texts = []
    try:
        for page in document:
            text_page = page.get_textpage()
            # PDFium ends lines with CR LF; the judge's patterns read LF like pypdf's text
            texts.append(text_page.get_text_range().replace("\r\n", "\n"))
            text_page.close()
            page.close()
    finally:
        document.close()
    return texts


def page_texts(pdf: bytes) -> list[str]:
    """The text of every page (raises `ValueError` for bytes that are not a readable PDF)."""
    try:
        return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]
    except (PyPdfError, ValueError, TypeError, KeyError, AttributeError, OSError) as exc:
        raise ValueError(f"not a readable PDF: {type(exc).__name__}") from exc


def judge_pages(
    pages: list[str],
    *,
    resident_id: str,
    code: str,
    expected_pages: int | None = None,
    own_names: Iterable[str] = (),
    strangers: Iterable[str] = (),
    required_names: Iterable[str] = (),
) -> Judgement:
    """Judge the page texts of a document issued to `resident_id` of municipality `code`.

    `own_names` are the applicant's household (they may be printed); no name of `strangers`
    that is not also one of `own_names` may be printed; every one of `required_names` must
    be (the household, for a certificate that prints the household).
    """
    verdict = Judgement(pages=len(pages))
    problems = verdict.problems
    found = []
    for number, text in enumerate(pages, start=1):
        mark = LINE.search(text)
        if mark is None:
            problems.append(Problem("missing_mark", f"page {number} has no RID line"))
            continue
        rid, doc, muni, page, total = mark.groups()
        found.append((rid, doc, muni, int(page), int(total)))
        if rid != resident_id:
            problems.append(Problem("cross_talk", f"page {number} names resident {rid}"))
        if muni != code:
            problems.append(Problem("wrong_municipality", f"page {number} names {muni}"))
        if int(page) != number or int(total) != len(pages):
            problems.append(
                Problem("page_order", f"page {number} of {len(pages)} says {page}/{total}")
            )
    verdict.document_ids = sorted({f[1] for f in found})
    if len(verdict.document_ids) > 1:
        problems.append(Problem("mixed_pages", f"pages of {len(verdict.document_ids)} documents"))
    if expected_pages is not None and expected_pages != len(pages):
        problems.append(
            Problem("wrong_count", f"{len(pages)} pages, the issuer announced {expected_pages}")
        )
    text = "\n".join(pages)
    own = set(own_names)
    for name in sorted(set(required_names)):
        if name not in text:
            problems.append(Problem("missing_name", "a household member's name is not printed"))
            break
    for name in sorted(set(strangers) - own):
        if name and name in text and _printed_as_a_name(name, text):
            problems.append(Problem("stranger_name", "another household's name is printed"))
            break
    return verdict


def _printed_as_a_name(name: str, text: str) -> bool:
    """`name` stands on its own in `text`, not inside a longer name ("林 零" is not printed
    by "小林 零")."""
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None


def judge_document(
    pdf: bytes,
    *,
    resident_id: str,
    code: str,
    expected_pages: int | None = None,
    own_names: Iterable[str] = (),
    strangers: Iterable[str] = (),
    required_names: Iterable[str] = (),
    fast: bool = False,
) -> Judgement:
    """`judge_pages` of a PDF; bytes that are not a readable PDF are `unreadable`.

    `fast`: read the text with PDFium first (`page_texts_fast`); only a document it finds
    clean is decided there. Anything else (a problem of any kind, bytes PDFium cannot
    open) is judged again from pypdf's text, and that verdict is the one returned: the
    fast path can only spare work on good documents, never excuse a bad one pypdf sees.
    """
    own, strange, required = set(own_names), set(strangers), set(required_names)

    def judged(pages: list[str]) -> Judgement:
        return judge_pages(
            pages,
            resident_id=resident_id,
            code=code,
            expected_pages=expected_pages,
            own_names=own,
            strangers=strange,
            required_names=required,
        )

    if fast:
        try:
            verdict = judged(page_texts_fast(pdf))
        except ValueError:
            verdict = Judgement(problems=[Problem("unreadable", "PDFium")])
        if verdict.ok:
            return verdict
    try:
        pages = page_texts(pdf)
    except ValueError as exc:
        return Judgement(problems=[Problem("unreadable", str(exc))])
    return judged(pages)

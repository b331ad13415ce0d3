"""The document judge (rig.harness.load.judge) and the run's counts (rig.harness.load.tally).

Negative controls on real PDFs (made with reportlab, text extracted with pypdf as for issued
documents, and again with the PDFium fast path): each kind of bad document is caught by
both, a good one passes.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from rig.harness.load.judge import judge_document
from rig.harness.load.tally import Tally, Totals

ME, NEIGHBOUR = "991015-00001", "991015-00002"


def pdf(pages: list[list[str]]) -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    for lines in pages:
        for n, line in enumerate(lines):
            c.drawString(72, 780 - 16 * n, line)
        c.showPage()
    c.save()
    return out.getvalue()


def marked(
    rid: str, doc: str, total: int, names: list[str], muni: str = "991015"
) -> list[list[str]]:
    return [
        [f"RID:{rid} DOC:{doc} MUNI:{muni} PAGE:{n}/{total}", *names] for n in range(1, total + 1)
    ]


def judge(document: bytes, **kw: object) -> set[str]:
    """The verdict, the same with pypdf's text alone and with the PDFium fast path."""
    args: dict[str, object] = {"resident_id": ME, "code": "991015", "expected_pages": 2}
    args.update(kw)
    full = judge_document(document, **args).kinds  # type: ignore[arg-type]
    fast = judge_document(document, fast=True, **args).kinds  # type: ignore[arg-type]
    assert fast == full
    return full


def test_the_applicants_own_document_passes() -> None:
    good = pdf(marked(ME, "D1", 2, ["Taro Sato", "Hanako Sato"]))
    names = {"Taro Sato", "Hanako Sato"}
    assert judge(good, own_names=names, strangers={"Jiro Ito"}, required_names=names) == set()


@pytest.mark.parametrize(
    ("pages", "expected", "kinds"),
    [
        (marked(NEIGHBOUR, "D2", 2, []), 2, {"cross_talk"}),  # a swapped document
        (marked(ME, "D1", 1, []) + marked(ME, "D9", 1, []), 2, {"mixed_pages", "page_order"}),
        ([["no line here"], *marked(ME, "D1", 2, [])[1:]], 2, {"missing_mark"}),
        (marked(ME, "D1", 2, []), 3, {"wrong_count"}),
        (marked(ME, "D1", 2, [], muni="993026"), 2, {"wrong_municipality"}),
        (list(reversed(marked(ME, "D1", 2, []))), 2, {"page_order"}),
    ],
)
def test_each_kind_of_bad_document_is_caught(
    pages: list[list[str]], expected: int, kinds: set[str]
) -> None:
    assert judge(pdf(pages), expected_pages=expected) == kinds


def test_names_of_another_household_and_missing_members() -> None:
    leaked = pdf(marked(ME, "D1", 2, ["Taro Sato", "Jiro Ito"]))
    assert judge(leaked, own_names={"Taro Sato"}, strangers={"Jiro Ito", "Taro Sato"}) == {
        "stranger_name"
    }
    short = pdf(marked(ME, "D1", 2, ["Taro Sato"]))
    assert judge(short, required_names={"Taro Sato", "Hanako Sato"}) == {"missing_name"}
    # the head of the applicant's own household, printed on a certificate of the applicant
    # alone, is no stranger even when seen in an earlier menu
    head = pdf(marked(ME, "D1", 2, ["Hanako Sato", "Taro Sato"]))
    assert judge(head, own_names={"Taro Sato", "Hanako Sato"}, strangers={"Taro Sato"}) == set()
    # a stranger's name inside a longer name is not that stranger's (林 零 in 小林 零)
    kobayashi = pdf(marked(ME, "D1", 2, ["Kobayashi Rei"]))
    assert judge(kobayashi, own_names={"Kobayashi Rei"}, strangers={"bayashi Rei"}) == set()
    assert judge(kobayashi, strangers={"Kobayashi Rei"}) == {"stranger_name"}


def test_garbage_is_unreadable_not_a_crash() -> None:
    assert judge(b"<html>502 Bad Gateway</html>") == {"unreadable"}
    assert judge(b"%PDF-1.7\n garbage") == {"unreadable"}


def test_the_fast_path_decides_only_clean_documents(monkeypatch: pytest.MonkeyPatch) -> None:
    from rig.harness.load import judge as judge_module

    good = pdf(marked(ME, "D1", 2, ["Taro Sato"]))
    fast_pages = judge_module.page_texts_fast(good)
    assert len(fast_pages) == 2 and f"RID:{ME} DOC:D1 MUNI:991015 PAGE:2/2" in fast_pages[1]
    # a fast reading that sees a problem is never the verdict: pypdf's text decides
    monkeypatch.setattr(judge_module, "page_texts_fast", lambda _pdf: ["RID:x DOC:y"] * 2)
    assert judge_document(good, resident_id=ME, code="991015", fast=True).ok
    swapped = pdf(marked(NEIGHBOUR, "D2", 2, []))
    verdict = judge_document(swapped, resident_id=ME, code="991015", fast=True)
    assert verdict.kinds == {"cross_talk"}


def test_totals_merge_workers_and_find_duplicated_documents() -> None:
    a, b = Tally(), Tally()
    a.add(started=2, completed=2)
    a.document("D1", [], {}, "resident_record")
    a.document("D2", ["cross_talk", "wrong_count"], {"resident_id": ME}, "koseki (non-resident)")
    b.add(started=2, completed=1)
    b.error("download", "municipality_unreachable")
    b.document("D1", [], {}, "resident_record")  # the same document in a second transaction
    totals = Totals()
    totals.merge(a.take(), "w0")
    totals.merge(b.take(), "w1")
    figures = totals.as_dict()
    assert figures["started"] == 4 and figures["completed"] == 3 and figures["failed"] == 1
    assert figures["documents"] == 3 and figures["bad_documents"] == 1
    assert figures["cross_talk"] == 1 and figures["duplicated"] == 1
    assert figures["errors"] == {"download:municipality_unreachable": 1}
    assert figures["error_rate"] == pytest.approx(0.25)
    assert figures["bad"] == [{"resident_id": ME, "worker": "w0"}]
    assert figures["documents_by_type"] == {"resident_record": 2, "koseki (non-resident)": 1}
    assert a.take()["documents"] == 0  # a take starts the tally again


def test_the_conformance_report_links_the_load_runs_beside_it(tmp_path: Path) -> None:
    from reports.load_links import load_reports_html

    report = tmp_path / "latest"
    assert load_reports_html(report) == ""
    run = tmp_path / "load-20261205-030000"
    run.mkdir()
    (run / "load.json").write_text(
        json.dumps(
            {
                "passed": False,
                "profile": {"name": "spike"},
                "figures": {"issuances_per_s": 12.5, "p99_ms": 900},
                "judge": {"documents": 40, "cross_talk": 1, "failed": 0},
            }
        )
    )
    (tmp_path / "load-broken").mkdir()
    (tmp_path / "load-broken" / "load.json").write_text("{")
    section = load_reports_html(report)
    assert "../load-20261205-030000/index.html" in section
    assert "o-failed" in section and "spike" in section and "load-broken" not in section

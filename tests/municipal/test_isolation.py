"""Concurrent requests for different residents never mix (the 2023 cross-talk incidents).

50 applicants at once, each with their own TLS connection and session, request multi-page
certificates released by one barrier; every page of every answer must carry the applicant's
own resident id and only the names of the applicant's own household.
"""

from __future__ import annotations

import io
import re
import sqlite3
import threading
from typing import Any

from pypdf import PdfReader

from .conftest import CITY, KOSEKI_TOWN, SMALL_TOWN, World, pdf_of

THREADS = 50
MARK = re.compile(r"RID:(\S+) DOC:(\S+) MUNI:(\d{6}) PAGE:(\d+)/(\d+)")


def _applicants(w: World) -> list[tuple[str, str]]:
    """50 adults from 50 different households, over the three municipalities."""
    reg = w.server.registry
    chosen: list[tuple[str, str]] = []
    for code, share in ((CITY, 30), (SMALL_TOWN, 10), (KOSEKI_TOWN, 10)):
        households: set[str | None] = set()
        for rid in reg.find_residents(code, "eligible"):
            hh = reg.resident(rid).household_id
            if hh not in households:
                households.add(hh)
                chosen.append((code, rid))
            if len(households) == share:
                break
    assert len(chosen) == THREADS
    return chosen


def test_fifty_concurrent_applicants_never_see_each_others_data(world: World) -> None:
    w = world
    reg = w.server.registry
    applicants = _applicants(w)
    # names that identify exactly one household (Faker repeats some full names)
    conn = sqlite3.connect(reg.path)
    try:
        rows = conn.execute(
            "SELECT family_name || ' ' || given_name, household_id FROM person WHERE status = 'active'"
        ).fetchall()
    finally:
        conn.close()
    households_of: dict[str, set[str]] = {}
    for name, hh in rows:
        households_of.setdefault(name, set()).add(hh)
    own_household = {rid: reg.resident(rid).household_id for _code, rid in applicants}
    barrier = threading.Barrier(THREADS)
    answers: dict[str, list[dict[str, Any]]] = {}
    errors: list[str] = []

    def applicant(code: str, rid: str) -> None:
        try:
            with w.client(timeout=120) as c:
                sid = w.session(c, code, rid)
                url = f"/municipalities/{code}/sessions/{sid}/certificates"
                barrier.wait(timeout=60)
                got = []
                for body in ({"type": "resident_record"}, {"type": "resident_record_entries"}):
                    r = c.post(url, json=body)
                    if r.status_code != 201:
                        errors.append(f"{rid}: {r.status_code} {r.text[:200]}")
                        return
                    got.append(r.json())
                answers[rid] = got
        except Exception as exc:  # collected, so one failure does not hide the others
            errors.append(f"{rid}: {exc!r}")

    threads = [threading.Thread(target=applicant, args=a) for a in applicants]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert errors == []
    assert len(answers) == THREADS
    document_ids = set()
    for rid, docs in answers.items():
        for doc in docs:
            assert doc["resident_id"] == rid
            assert doc["page_resident_ids"] == [rid] * doc["pages"]
            document_ids.add(doc["document_id"])
            reader = PdfReader(io.BytesIO(pdf_of(doc)))
            assert reader.metadata is not None and reader.metadata.subject == f"RID:{rid}"
            for number, page in enumerate(reader.pages, start=1):
                text = page.extract_text()
                mark = MARK.search(text)
                assert mark is not None
                assert mark.group(1) == rid and mark.group(2) == doc["document_id"]
                assert int(mark.group(4)) == number
                lines = text.splitlines()
                shown = {lines[i + 1] for i, x in enumerate(lines[:-1]) if x == "氏名"}
                assert shown, text
                strangers = {n for n in shown if own_household[rid] not in households_of.get(n, ())}
                assert strangers == set(), f"{rid} page {number} shows {strangers}"
    assert len(document_ids) == 2 * THREADS  # no document id handed out twice

"""Certificate PDFs: page marks, options, paper sizes, fonts, the seal, what is never printed."""

from __future__ import annotations

import io
import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from .conftest import CITY, KOSEKI_TOWN, World, pdf_of

MARK = re.compile(r"RID:(\S+) DOC:(\S+) MUNI:(\d{6}) PAGE:(\d+)/(\d+)")


def issue(w: World, code: str, rid: str, **body: Any) -> tuple[dict[str, Any], PdfReader]:
    with w.client() as c:
        sid = w.session(c, code, rid)
        r = c.post(f"/municipalities/{code}/sessions/{sid}/certificates", json=body)
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer, PdfReader(io.BytesIO(pdf_of(answer)))


def texts(reader: PdfReader) -> list[str]:
    return [page.extract_text() for page in reader.pages]


def secret_codes(w: World, household_of: str) -> tuple[list[str], list[str]]:
    """(My Numbers, 住民票コード) of a resident's household, read straight from the registry."""
    conn = sqlite3.connect(w.server.registry.path)
    try:
        rows = conn.execute(
            "SELECT my_number, resident_code FROM person WHERE household_id = "
            "(SELECT household_id FROM person WHERE id = ?) AND status = 'active'",
            (household_of,),
        ).fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows], [r[1] for r in rows]


def test_every_page_is_marked(shared_world: World) -> None:
    rid = shared_world.find(CITY, "household_of_8")
    answer, reader = issue(shared_world, CITY, rid, type="resident_record")
    pages = texts(reader)
    assert len(pages) == answer["pages"] >= 3
    for number, text in enumerate(pages, start=1):
        mark = MARK.search(text)
        assert mark is not None, text
        assert mark.groups() == (rid, answer["document_id"], CITY, str(number), str(len(pages)))
        assert f"{number} / {len(pages)} ページ" in text
        assert "みなと市" in text
    assert reader.metadata is not None
    assert reader.metadata.subject == f"RID:{rid}"
    assert f"DOC:{answer['document_id']}" in str(reader.metadata.get("/Keywords"))


def test_resident_code_is_never_printed_and_my_number_only_on_request(shared_world: World) -> None:
    w = shared_world
    rid = w.find(CITY, "household_of_4")
    my_numbers, resident_codes = secret_codes(w, rid)
    _, plain = issue(w, CITY, rid, type="resident_record")
    _, with_number = issue(
        w, CITY, rid, type="resident_record", options={"include_my_number": True}
    )
    plain_text = "".join(texts(plain))
    number_text = "".join(texts(with_number))
    for code in resident_codes:
        assert code not in plain_text and code not in number_text
    for number in my_numbers:
        assert number not in plain_text
        assert number in number_text
    assert "個人番号" not in plain_text


def test_honseki_and_head_options(shared_world: World) -> None:
    w = shared_world
    rid = w.find(CITY, "household_of_3")
    _, default = issue(w, CITY, rid, type="resident_record")
    _, full = issue(w, CITY, rid, type="resident_record", options={"include_honseki": True})
    _, bare = issue(
        w, CITY, rid, type="resident_record", options={"include_head_relationship": False}
    )
    assert "本籍" not in texts(default)[0] and "筆頭者" not in texts(default)[0]
    assert "本籍" in texts(full)[0] and "筆頭者" in texts(full)[0]
    assert "世帯主" in texts(default)[0] and "続柄" in texts(default)[0]
    assert "世帯主" not in texts(bare)[0] and "続柄" not in texts(bare)[0]


def test_removed_persons_are_not_listed(shared_world: World) -> None:
    w = shared_world
    reg = w.server.registry
    deceased = reg.resident(w.find(CITY, "deceased"))
    survivor = next(
        r
        for r in reg.find_residents(CITY, "household_of_1")
        if reg.resident(r).household_id == deceased.household_id
    )
    _, reader = issue(w, CITY, survivor, type="resident_record")
    text = "".join(texts(reader))
    assert reg.resident(survivor).name in text
    assert deceased.name not in text


def _page_size(reader: PdfReader) -> tuple[int, int]:
    box = reader.pages[0].mediabox
    return round(float(box.width)), round(float(box.height))


A4, A5 = (595, 842), (420, 595)


def test_paper_sizes(shared_world: World) -> None:
    w = shared_world
    _, seal = issue(w, CITY, w.find(CITY, "seal_registered"), type="seal_registration")
    _, entries = issue(w, CITY, w.find(CITY, "eligible"), type="resident_record_entries")
    _, record = issue(w, CITY, w.find(CITY, "eligible"), type="resident_record")
    _, tax_town = issue(
        w, KOSEKI_TOWN, w.find(KOSEKI_TOWN, "tax_record"), type="tax_certificate", variant="income"
    )
    assert _page_size(seal) == A5
    assert _page_size(entries) == A5
    assert _page_size(record) == A4
    assert _page_size(tax_town) == A5  # かわべ町 sets A5 for tax certificates in its file


def test_fonts_are_embedded(shared_world: World) -> None:
    _, reader = issue(
        shared_world, CITY, shared_world.find(CITY, "eligible"), type="resident_record"
    )
    resources: Any = reader.pages[0]["/Resources"]
    fonts = resources["/Font"]
    japanese = {}
    for ref in fonts.values():
        font = ref.get_object()
        if "IPAex" in str(font["/BaseFont"]):
            descriptor = font["/FontDescriptor"].get_object()
            japanese[str(font["/BaseFont"]).split("+")[1]] = "/FontFile2" in descriptor
    assert japanese == {"IPAexMincho": True, "IPAexGothic": True}


def test_koseki_pages_and_removed_members(shared_world: World) -> None:
    w = shared_world
    rid = w.find(CITY, "household_of_8")
    answer, reader = issue(w, CITY, rid, type="koseki", variant="full")
    text = "".join(texts(reader))
    assert answer["pages"] == len(reader.pages) >= 2
    assert "戸籍全部事項証明書" in text and "本籍" in text
    _, individual = issue(w, CITY, rid, type="koseki", variant="individual")
    assert len(individual.pages) == 1
    assert "戸籍個人事項証明書" in texts(individual)[0]


def test_seal_certificate_shows_the_impression(shared_world: World, tmp_path: Path) -> None:
    w = shared_world
    answer, _ = issue(w, CITY, w.find(CITY, "seal_registered"), type="seal_registration")
    pdf = tmp_path / "seal.pdf"
    pdf.write_bytes(pdf_of(answer))
    png = tmp_path / "seal.png"
    subprocess.run(
        [
            "gs",
            "-q",
            "-dSAFER",
            "-dBATCH",
            "-dNOPAUSE",
            "-sDEVICE=png16m",
            "-r50",
            f"-sOutputFile={png}",
            str(pdf),
        ],
        check=True,
        timeout=60,
    )
    image = Image.open(png).convert("RGB")
    assert abs(image.size[0] / image.size[1] - 420 / 595) < 0.01  # A5 portrait
    rgb = np.asarray(image).astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    red = int(((r > 150) & (g < 110) & (b < 110)).sum())
    dark = int(((r < 90) & (g < 90) & (b < 90)).sum())
    assert red > 200  # the office seal and the registered seal impression
    assert dark > 500  # the text


def test_rendering_is_deterministic(shared_world: World) -> None:
    from datetime import date

    from emulators.municipal.certificates import Block, DocumentContent
    from emulators.municipal.pdf import render

    config = shared_world.server.configs[0]
    content = DocumentContent(
        "住民票の写し",
        [("住所", "x")],
        [[Block(None, [("氏名", "山田 太郎")])]],
        "証明する。",
        paper="A4",
    )
    a = render(content, config, document_id="D1", resident_id="R1", issued_on=date(2026, 11, 24))
    b = render(content, config, document_id="D1", resident_id="R1", issued_on=date(2026, 11, 24))
    assert a.data == b.data and a.pages == 1


@pytest.mark.parametrize("size", [1, 2, 5, 7, 8])
def test_household_sizes_paginate(shared_world: World, size: int) -> None:
    w = shared_world
    rid = w.find(CITY, f"household_of_{size}")
    answer, reader = issue(w, CITY, rid, type="resident_record")
    members = w.server.registry.resident(rid).household_size
    assert answer["pages"] == len(reader.pages) == -(-members // 3)
    names = "".join(texts(reader)).count("フリガナ")
    assert names == members

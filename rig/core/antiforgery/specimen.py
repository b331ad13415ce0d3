"""Synthetic certificate pages (300 dpi gray A4) for tests, fuzzing and benchmarks.

Each specimen looks like a municipal 住民票の写し page: a title, a table of fictitious
entries (names, addresses and dates from Faker's ja_JP locale, seeded, so a seed always
gives the same page), a certification sentence and a seal, all inside the A5 content box
centred on the A4 page as the seed (I.4.1 (8)) prescribes. `certificate_page_a4` makes a
full A4 page laid out like the municipal emulator's A4 PDFs (48 pt side margins, a table
down the page, a footer line about 9 mm above the bottom edge). No real person's data is used.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from faker import Faker
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from rig.core.antiforgery import layout

MINCHO_PATHS = (
    Path("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-mincho.ttf"),
)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    for path in MINCHO_PATHS:
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    from rig.core.antiforgery.glyphs import font_path

    return ImageFont.truetype(str(font_path()), size)


def certificate_page(seed: int) -> NDArray[np.uint8]:
    """A fictitious one-page certificate, deterministic in `seed`."""
    fake = Faker("ja_JP")
    fake.seed_instance(seed)
    page = Image.new("L", (layout.PAGE_W, layout.PAGE_H), 255)
    draw = ImageDraw.Draw(page)
    c = layout.CONTENT
    x, y = c.x + 60, c.y + 70
    draw.text((c.x + c.w // 2, y), "住民票の写し", font=_font(72), fill=0, anchor="mt")
    y += 150
    body = _font(38)
    rows = [
        ("住所", fake.address()),
        ("世帯主", fake.name()),
    ]
    for _ in range(3):
        born = fake.date_of_birth(minimum_age=15, maximum_age=90)
        rows += [
            ("氏名", fake.name()),
            ("生年月日", born.strftime("%Y年%m月%d日")),
            ("続柄", fake.random_element(["世帯主", "妻", "夫", "子", "母", "父"])),
            ("住民となった日", fake.date_between("-30y", "-1y").strftime("%Y年%m月%d日")),
        ]
    table_top = y - 20
    for label, value in rows:
        draw.text((x + 10, y), label, font=body, fill=0)
        draw.text((x + 380, y), value[:30], font=body, fill=0)
        y += 92
        draw.line((x, y - 24, c.x1 - 60, y - 24), fill=0, width=3)
    draw.rectangle((x, table_top, c.x1 - 60, y - 24), outline=0, width=4)
    draw.line((x + 360, table_top, x + 360, y - 24), fill=0, width=3)
    y += 60
    draw.text((x, y), "この写しは、住民票の原本と相違ないことを証明する。", font=body, fill=0)
    y += 80
    date = fake.date_between("-1y", "today").strftime("%Y年%m月%d日")
    draw.text((x, y), date, font=body, fill=0)
    y += 80
    city = fake.city()
    draw.text((x + 500, y), f"{city}長　{fake.last_name()}　{fake.first_name()}", font=body, fill=0)
    # The municipal seal (公印, red in print, a mid gray here) over the mayor's name.
    sx, sy = c.x1 - 330, y - 90
    draw.rectangle((sx, sy, sx + 220, sy + 220), outline=110, width=12)
    seal = _font(64)
    draw.text((sx + 110, sy + 110), f"{city[:2]}\n之印", font=seal, fill=110, anchor="mm")
    draw.text((x, c.y1 - 80), f"証明書番号 {fake.numerify('####-######')}", font=_font(30), fill=0)
    return np.asarray(page, dtype=np.uint8).copy()


#: The A4 specimen's ink box (the municipal emulator's A4 PDFs measure x 198–2284,
#: y 182–3450 with the centre's stamp).
A4_INK = layout.Box(x=200, y=190, w=2080, h=3250)


def certificate_page_a4(seed: int) -> NDArray[np.uint8]:
    """A fictitious full-A4 certificate (a 住民票の写し of a large household), deterministic."""
    fake = Faker("ja_JP")
    fake.seed_instance(seed)
    page = Image.new("L", (layout.PAGE_W, layout.PAGE_H), 255)
    draw = ImageDraw.Draw(page)
    box = A4_INK
    draw.text((box.x + box.w // 2, box.y), "住民票の写し", font=_font(80), fill=0, anchor="mt")
    body = _font(40)
    y = box.y + 170
    table_top = y - 20
    for _ in range(6):
        born = fake.date_of_birth(minimum_age=1, maximum_age=90)
        for label, value in (
            ("氏名", fake.name()),
            ("生年月日", born.strftime("%Y年%m月%d日")),
            ("住所", fake.address()),
            ("住民となった日", fake.date_between("-30y", "-1y").strftime("%Y年%m月%d日")),
        ):
            draw.text((box.x + 14, y), label, font=body, fill=0)
            draw.text((box.x + 520, y), value[:36], font=body, fill=0)
            y += 96
            draw.line((box.x, y - 26, box.x1, y - 26), fill=0, width=3)
    draw.rectangle((box.x, table_top, box.x1, y - 26), outline=0, width=4)
    draw.line((box.x + 500, table_top, box.x + 500, y - 26), fill=0, width=3)
    y += 40
    draw.text(
        (box.x, y),
        "この写しは、世帯全員の住民票の原本と相違ないことを証明する。",
        font=body,
        fill=0,
    )
    city = fake.city()
    draw.text((box.x + 1000, y + 110), f"{city}長　{fake.last_name()}", font=body, fill=0)
    sx, sy = box.x1 - 240, y + 60
    draw.rectangle((sx, sy, sx + 220, sy + 220), outline=110, width=12)
    small = _font(32)
    footer_y = box.y1 - 90
    draw.text(
        (box.x, footer_y),
        f"{city}  文書番号 {fake.numerify('######-########')}",
        font=small,
        fill=0,
    )
    draw.text((box.x1, footer_y), "1 / 1 ページ", font=small, fill=0, anchor="ra")
    draw.text((box.x, box.y1 - 36), f"RID:{fake.numerify('######-#####')}", font=_font(26), fill=0)
    return np.asarray(page, dtype=np.uint8).copy()

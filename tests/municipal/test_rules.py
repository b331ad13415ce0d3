"""Identifiers, municipality files and service-hour rules (seed II.7.1)."""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from emulators.municipal.config import BUNDLED, load_municipalities, load_municipality
from emulators.municipal.hours import add_business_days, check_open
from emulators.municipal.identifiers import (
    in_jis_x0208,
    is_valid_my_number,
    is_valid_resident_code,
    local_government_check_digit,
    make_my_number,
    make_resident_code,
    my_number_check_digit,
)
from emulators.municipal.reasons import Refusal, RefusalCode
from rig.core.calendar import is_business_day
from rig.core.clock import JST

from .conftest import CITY, KOSEKI_TOWN, SMALL_TOWN

CONFIGS = {c.code: c for c in load_municipalities()}


def test_my_number_check_digit() -> None:
    assert my_number_check_digit("12345678901") == 8  # the published example 123456789018
    assert is_valid_my_number("123456789018")
    assert not is_valid_my_number("123456789017")
    assert not is_valid_my_number("12345678901")
    rng = random.Random(1)
    numbers = [make_my_number(rng) for _ in range(200)]
    assert all(is_valid_my_number(n) for n in numbers)
    # a changed check digit is always caught; other single-digit slips almost always
    # (remainders 0 and 1 share the check digit 0, so a few slip through by design)
    n = numbers[0]
    assert not any(is_valid_my_number(n[:11] + d) for d in "0123456789" if d != n[11])
    slips = [n[:i] + d + n[i + 1 :] for i in range(11) for d in "0123456789" if d != n[i]]
    caught = sum(not is_valid_my_number(x) for x in slips)
    assert caught >= 0.85 * len(slips)


def test_resident_code_check_digit() -> None:
    rng = random.Random(2)
    codes = [make_resident_code(rng) for _ in range(100)]
    assert all(is_valid_resident_code(c) for c in codes)
    assert not is_valid_resident_code(codes[0][:10] + str((int(codes[0][10]) + 1) % 10))


def test_local_government_codes() -> None:
    assert local_government_check_digit("13101") == 6  # 千代田区 131016
    assert local_government_check_digit("01100") == 2  # 札幌市 011002
    assert set(CONFIGS) == {CITY, "992046", SMALL_TOWN, KOSEKI_TOWN, "993069"}


def test_jis_x0208() -> None:
    assert in_jis_x0208("山田 太郎")
    assert in_jis_x0208("ヤマダ")
    assert not in_jis_x0208("𠮷田")
    assert not in_jis_x0208("髙橋")


def at(y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=JST)


def refusal(code: str, when: datetime, cert_type: str | None = None) -> str | None:
    try:
        check_open(CONFIGS[code], when, cert_type)
    except Refusal as exc:
        return exc.code.code
    return None


@pytest.mark.parametrize(
    ("code", "when", "cert_type", "expected"),
    [
        (CITY, at(2026, 11, 24, 6, 30), None, None),
        (CITY, at(2026, 11, 24, 6, 29, 59), None, "outside_service_hours"),
        (CITY, at(2026, 11, 24, 22, 59, 59), None, None),
        (CITY, at(2026, 11, 24, 23, 0), None, "outside_service_hours"),
        (CITY, at(2026, 12, 29, 10), None, "year_end_closure"),
        (CITY, at(2027, 1, 3, 22), None, "year_end_closure"),
        (CITY, at(2027, 1, 4, 6, 30), None, None),
        (CITY, at(2026, 12, 6, 8, 59), None, "maintenance"),
        (CITY, at(2026, 12, 6, 9, 0), None, None),
        (CITY, at(2026, 11, 28, 10), "koseki", None),  # Saturday: the city issues 戸籍
        (SMALL_TOWN, at(2026, 11, 29, 10), None, "closed_day"),  # Sunday
        (SMALL_TOWN, at(2026, 11, 23, 10), None, "closed_day"),  # 勤労感謝の日
        (SMALL_TOWN, at(2026, 11, 24, 6, 59), None, "outside_service_hours"),
        (SMALL_TOWN, at(2026, 11, 24, 21, 0), None, "outside_service_hours"),
        (SMALL_TOWN, at(2026, 11, 25, 17, 29), None, None),  # Wednesday before maintenance
        (SMALL_TOWN, at(2026, 11, 25, 17, 30), None, "maintenance"),
        (SMALL_TOWN, at(2026, 11, 26, 8, 59), None, "maintenance"),  # runs past midnight
        (SMALL_TOWN, at(2026, 11, 26, 9, 0), None, None),
        (KOSEKI_TOWN, at(2026, 11, 24, 16, 59, 59), "koseki", None),
        (KOSEKI_TOWN, at(2026, 11, 24, 17, 0), "koseki", "koseki_outside_hours"),
        (KOSEKI_TOWN, at(2026, 11, 24, 8, 59), "fuhyo", "koseki_outside_hours"),
        (KOSEKI_TOWN, at(2026, 11, 24, 20, 0), "resident_record", None),
        (KOSEKI_TOWN, at(2026, 11, 28, 10), "koseki", "koseki_outside_hours"),  # Saturday
        (KOSEKI_TOWN, at(2026, 11, 28, 10), "resident_record", None),
        (KOSEKI_TOWN, at(2026, 11, 23, 10), "koseki", "koseki_outside_hours"),  # holiday
        (KOSEKI_TOWN, at(2026, 12, 28, 10), None, "closed_day"),  # closed date
    ],
)
def test_service_hours(
    code: str, when: datetime, cert_type: str | None, expected: str | None
) -> None:
    assert refusal(code, when, cert_type) == expected


def test_refusal_codes_are_unique_and_documented() -> None:
    codes = [c.code for c in RefusalCode]
    assert len(codes) == len(set(codes))
    doc = (Path(__file__).resolve().parents[2] / "docs" / "municipal.md").read_text("utf-8")
    missing = [c for c in codes if f"`{c}`" not in doc]
    assert missing == []


def test_business_days() -> None:
    assert not is_business_day(date(2026, 11, 23))  # holiday
    assert add_business_days(date(2026, 11, 20), 5) == date(2026, 11, 30)  # skips 11/23
    assert add_business_days(date(2026, 12, 28), 1) == date(2027, 1, 4)  # skips the year end


def _bundled(name: str) -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load((BUNDLED / name).read_text("utf-8"))
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "991016"}, "check digit"),
        ({"fees": {"koseki": 100}}, "unknown fee key"),
        (
            {"maintenance": [{"start": "2026-12-01T00:00:00", "end": "2026-12-01T01:00:00"}]},
            "time zone",
        ),
        ({"colour": "red"}, "Extra inputs"),
        ({"closed_weekdays": ["someday"]}, "closed_weekdays"),
    ],
)
def test_bad_municipality_files_are_refused(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    data = _bundled("minato.yaml") | change
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(ValidationError, match=message):
        load_municipality(path)


def test_duplicate_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        load_municipalities([BUNDLED / "minato.yaml", BUNDLED / "minato.yaml"])

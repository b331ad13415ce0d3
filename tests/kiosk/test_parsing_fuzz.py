"""The kiosk's parsers of what other parties send: only their documented errors come out."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulators.kiosk.card_apps import _der_total_length
from emulators.kiosk.card_reader import CardIOError
from emulators.kiosk.centre import MenuFormatError, parse_menu
from rig.harness.fuzz import examples

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
MENU_KEYS = st.sampled_from(
    ["municipality", "applicant", "max_copies", "household", "tax_years", "certificates"]
)
ITEM = st.fixed_dictionaries(
    {"type": st.text(max_size=5) | st.integers(), "available": JSON},
    optional={"variant": JSON, "fee": JSON, "options": JSON, "refusal": JSON, "title": JSON},
)
MENUS = st.one_of(
    JSON,
    st.dictionaries(MENU_KEYS, JSON, max_size=6),
    st.fixed_dictionaries(
        {"certificates": st.lists(ITEM, max_size=3)}, optional={"max_copies": JSON}
    ),
)


@pytest.mark.fuzz
@settings(max_examples=examples(500))
@given(data=MENUS)
def test_menu_parser_only_raises_its_error(data: Any) -> None:
    try:
        menu = parse_menu(data)
    except MenuFormatError as exc:
        assert exc.code == "centre_answer_invalid"
        return
    assert 1 <= menu.max_copies <= 99


def test_menu_parser_reads_the_municipal_shape() -> None:
    menu = parse_menu(
        {
            "municipality": {"code": "991015", "name": "みなと市"},
            "applicant": {"resident": True, "name": "見本 花子"},
            "pin_required": False,
            "max_copies": 10,
            "household": [{"member_id": "991015-00001", "name": "見本 花子", "relationship": "世帯主"}],
            "tax_years": [2024, 2025],
            "certificates": [
                {"type": "seal_registration", "variant": None, "title": "印鑑登録証明書", "fee": 200,
                 "paper": "A5", "options": [], "available": False,
                 "refusal": {"code": "seal_not_registered", "message_ja": "印鑑登録がありません。"}},
            ],
        }
    )  # fmt: skip
    assert menu.max_copies == 10 and menu.household[0].relationship == "世帯主"
    item = menu.certificates[0]
    assert not item.available and item.refusal_code == "seal_not_registered"


@pytest.mark.fuzz
@settings(max_examples=examples(500))
@given(head=st.binary(min_size=2, max_size=8))
def test_der_length_of_an_ef_header(head: bytes) -> None:
    try:
        total = _der_total_length(head)
    except CardIOError:
        return
    assert 2 <= total <= 2 + 2 + 0xFFFF

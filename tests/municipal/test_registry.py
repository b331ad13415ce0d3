"""The generated resident registry: determinism, cache, traits, kiosk-use users, PIN lock."""

from __future__ import annotations

import sqlite3
import time
from datetime import date
from pathlib import Path

import pytest

from emulators.municipal.config import load_municipalities
from emulators.municipal.generator import cache_key, ensure_registry
from emulators.municipal.identifiers import (
    in_jis_x0208,
    is_valid_my_number,
    is_valid_resident_code,
)
from emulators.municipal.reasons import Refusal, RefusalCode
from emulators.municipal.registry import TRAITS, Registry, age_on
from rig.core.pki.serials import normalise_serial

from .conftest import CITY, KOSEKI_TOWN, SMALL_TOWN, World

REF = date(2026, 11, 24)
CONFIGS = load_municipalities()


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_generation_is_deterministic_and_cached(tmp_path: Path) -> None:
    a = ensure_registry(tmp_path / "a", "s1", REF, CONFIGS)
    b = ensure_registry(tmp_path / "b", "s1", REF, CONFIGS)
    c = ensure_registry(tmp_path / "c", "s2", REF, CONFIGS)
    assert _dump(a) == _dump(b)
    assert _dump(a) != _dump(c)
    mtime = a.stat().st_mtime_ns
    started = time.perf_counter()
    again = ensure_registry(tmp_path / "a", "s1", REF, CONFIGS)
    assert again == a
    assert a.stat().st_mtime_ns == mtime
    assert time.perf_counter() - started < 1.0  # a cache hit reads nothing but a hash
    assert cache_key("s1", REF, CONFIGS) != cache_key("s1", date(2026, 11, 25), CONFIGS)


@pytest.mark.parametrize("code", [CITY, SMALL_TOWN, KOSEKI_TOWN])
@pytest.mark.parametrize("trait", sorted(TRAITS))
def test_every_trait_exists_everywhere(shared_world: World, code: str, trait: str) -> None:
    found = shared_world.server.registry.find_residents(code, trait)
    assert found, f"no {trait} in {code}"
    assert all(rid.startswith(code + "-") for rid in found)


def test_traits_mean_what_they_say(shared_world: World) -> None:
    reg = shared_world.server.registry
    info = reg.resident
    assert info(reg.find_resident(CITY, "household_of_8")).household_size >= 8
    assert info(reg.find_resident(CITY, "household_of_3")).household_size == 3
    assert info(reg.find_resident(CITY, "deceased")).status == "deceased"
    assert info(reg.find_resident(CITY, "moved_out")).status == "moved_out"
    assert age_on(info(reg.find_resident(CITY, "under_15")).birth_date, REF) < 15
    assert not in_jis_x0208(info(reg.find_resident(CITY, "non_jis_name")).name)
    elsewhere = info(reg.find_resident(CITY, "honseki_elsewhere_registered"))
    assert elsewhere.honseki_code not in (None, CITY)
    assert info(reg.find_resident(CITY, "honseki_outside_rig")).honseki_code is None
    assert info(reg.find_resident(CITY, "koseki_here")).honseki_code == CITY


def test_find_resident_errors(shared_world: World) -> None:
    reg = shared_world.server.registry
    with pytest.raises(ValueError, match="unknown trait"):
        reg.find_resident(CITY, "left_handed")
    with pytest.raises(KeyError):
        reg.find_resident("000000", "eligible")
    with pytest.raises(LookupError):
        reg.find_resident(CITY, "dv_protected", index=50)
    assert reg.find_resident(CITY, "eligible", 1) != reg.find_resident(CITY, "eligible", 0)


def test_identifiers_are_valid_and_unique(shared_world: World) -> None:
    conn = sqlite3.connect(shared_world.server.registry.path)
    try:
        rows = conn.execute("SELECT my_number, resident_code FROM person").fetchall()
    finally:
        conn.close()
    assert len(rows) > 300
    assert all(is_valid_my_number(m) for m, _ in rows)
    assert all(is_valid_resident_code(c) for _, c in rows)
    assert len({m for m, _ in rows}) == len(rows)
    assert len({c for _, c in rows}) == len(rows)


def test_register_unknown_resident(shared_world: World) -> None:
    reg = shared_world.server.registry
    with pytest.raises(KeyError):
        reg.register_jpki_user(1, "991015-99999")
    with pytest.raises(ValueError):
        reg.register_card_ap_user("USER000000000001", reg.find_resident(CITY), "12345")
    with pytest.raises(ValueError):  # the card AP's user ids are 16 characters 0-9 A-Z
        reg.register_card_ap_user("user-1", reg.find_resident(CITY), "1234")


def test_serial_normalisation() -> None:
    assert normalise_serial(255) == "FF"
    assert normalise_serial("0x00ff") == "FF"
    assert normalise_serial("00:FF") == "FF"
    for bad in ("", "xyz", "1" * 41, "-1"):
        with pytest.raises(ValueError):
            normalise_serial(bad)


def test_card_ap_pin_locks_after_three_misses(tmp_path: Path, shared_world: World) -> None:
    reg = Registry(shared_world.server.registry.path, today=lambda: REF)
    rid = reg.find_resident(SMALL_TOWN, "eligible", 3)
    reg.register_card_ap_user("PINTEST000000001", rid, "4321")
    reg.verify_pin("PINTEST000000001", "4321", 3)
    lefts = []
    for _ in range(2):
        with pytest.raises(Refusal) as exc:
            reg.verify_pin("PINTEST000000001", "0000", 3)
        assert exc.value.code is RefusalCode.PIN_INCORRECT
        lefts.append(exc.value.extensions["tries_left"])
    assert lefts == [2, 1]
    reg.verify_pin("PINTEST000000001", "4321", 3)  # a success resets the counter
    for expected in (RefusalCode.PIN_INCORRECT, RefusalCode.PIN_INCORRECT, RefusalCode.PIN_LOCKED):
        with pytest.raises(Refusal) as exc:
            reg.verify_pin("PINTEST000000001", "1111", 3)
        assert exc.value.code is expected
    with pytest.raises(Refusal) as exc:
        reg.verify_pin("PINTEST000000001", "4321", 3)  # locked: even the right PIN
    assert exc.value.code is RefusalCode.PIN_LOCKED
    reg.close()

"""The evidence store: what crossed an interface, with secrets kept out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore


def test_records_are_json_lines_with_rig_time(tmp_path: Path) -> None:
    clock = RigClock()
    store = EvidenceStore(tmp_path, now=clock.now)
    store.record("cash", "frame", direction="rx", data=b"\xfc\x05\x11\x27\x56")
    clock.advance(2)
    store.record("cash", "frame", direction="tx", data=b"\xfc\x05\x1a")
    lines = (tmp_path / "cash.jsonl").read_text().splitlines()
    first, second = (json.loads(x) for x in lines)
    assert first["data"] == "fc05112756" and first["seq"] == 1
    assert second["rig_time"].endswith("10:00:02+09:00")
    assert list(store.records("cash")) == [first, second]


def test_secret_fields_are_masked_by_name(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    written = store.record("kiosk", "pin", pin="4821", nested={"my_number": "123456789012"})
    assert written["pin"] == "***(4 chars)"
    assert written["nested"]["my_number"] == "***(12 chars)"
    raw = (tmp_path / "kiosk.jsonl").read_text()
    assert "4821" not in raw and "123456789012" not in raw


def test_registered_secrets_are_scrubbed_everywhere(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    store.register_secret("4821")
    store.register_secret(b"9735")
    store.record("apdu", "transmit", command="002000800434383231", note="typed 4821")
    path = store.attach("screen.txt", "PIN was 4821 / 9735")
    raw = (tmp_path / "apdu.jsonl").read_text()
    assert "4821" not in raw and b"4821".hex() not in raw
    assert path.read_text() == "PIN was *** / ***"


def test_short_secrets_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        EvidenceStore(tmp_path).register_secret("12")


def test_binary_attachments_are_kept_as_is(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    path = store.attach("sheet 1/front.png", b"\x89PNG\r\n")
    assert path.read_bytes() == b"\x89PNG\r\n"
    assert path.parent == tmp_path / "attachments"
    assert store.attachments() == [path]

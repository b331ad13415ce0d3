"""`rig doctor` tells the truth about the machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rig.core.pcsc.daemon import StackConfig
from rig.harness import doctor


def test_doctor_passes_on_a_set_up_machine() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rig.harness.cli", "doctor"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "virtual readers" in result.stdout and "all checks passed" in result.stdout


def test_a_missing_font_fails_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "JAPANESE_FONTS", (Path("/nonexistent/ipaexg.ttf"),))
    result = doctor.check_fonts()
    assert not result.ok
    assert "fonts-ipaexfont" in result.fix and "/nonexistent/ipaexg.ttf" in result.detail


def test_a_missing_binary_names_its_package() -> None:
    result = doctor._binary("thing", "/nonexistent/bin/thing", "thing-pkg")
    assert not result.ok and "thing-pkg" in result.fix


def test_reader_ports_inside_the_ephemeral_range_fail_with_a_base_below_it() -> None:
    ports = StackConfig().ports
    inside = doctor.check_reader_ports(range(ports.start - 5, ports.start + 100))
    assert not inside.ok
    assert f"{ports.start}–{ports.stop - 1}" in inside.detail
    base = int(inside.fix.split("=")[1].split()[0])
    assert base + len(ports) <= ports.start - 5  # the suggested readers end below the range
    assert doctor.check_reader_ports(range(ports.stop, 60999)).ok


def test_the_default_reader_ports_are_outside_linuxs_default_ephemeral_range() -> None:
    assert doctor.check_reader_ports(range(32768, 61000)).ok

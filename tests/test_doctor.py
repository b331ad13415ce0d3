"""`rig doctor` tells the truth about the machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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

"""Bad parameter files: exit 2 naming the file, the field and the problem; nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from rig.harness.cli import app
from rig.harness.demand.params import DemandInputError, load_municipality

from .conftest import EXAMPLES

runner = CliRunner()


def _bad_file(tmp_path: Path, edit: Any) -> Path:
    data = yaml.safe_load((EXAMPLES / "town-12k.yaml").read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


CASES = [
    ("negative rate", lambda d: d.update(demand={"time": {"weekday_weights": {"mon": -1.0}}}),
     "demand.time.weekday_weights", ">= 0"),
    ("negative copies per holder", lambda d: d.update(demand={"volume": {"copies_per_holder_per_year": -0.1}}),
     "demand.volume.copies_per_holder_per_year", "greater than or equal to 0"),
    ("unknown certificate in fees", lambda d: d["fees"].update(passport=500), "fees.passport", "unknown value 'passport'"),
    ("unknown certificate in mix", lambda d: d.update(demand={"mix": {"certificates": {"passport": 0.1}}}),
     "demand.mix.certificates.passport", "unknown value 'passport'"),
    ("zero population", lambda d: d.update(population=0), "population", "greater than 0"),
    ("dates out of order", lambda d: d.update(maintenance=[{"start": "2026-06-02T10:00:00+09:00", "end": "2026-06-01T10:00:00+09:00"}]),
     "maintenance.0", "dates out of order"),
    ("hours out of order", lambda d: d.update(service_hours={"start": "20:00", "end": "08:00"}),
     "service_hours", "not after start"),
    ("a year without holidays", lambda d: d.update(fiscal_year=2031), "fiscal_year", "national_holidays"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "edit", "field", "problem"), CASES, ids=[c[0] for c in CASES])
def test_bad_file_names_file_field_and_problem(
    tmp_path: Path, label: str, edit: Any, field: str, problem: str
) -> None:
    path = _bad_file(tmp_path, edit)
    with pytest.raises(DemandInputError) as caught:
        load_municipality(path)
    assert caught.value.file == str(path)
    assert caught.value.field.startswith(field), caught.value
    assert problem in caught.value.problem, caught.value


@pytest.mark.parametrize("command", ["year", "whatif"])
def test_the_cli_exits_2_and_writes_nothing(tmp_path: Path, command: str) -> None:
    path = _bad_file(tmp_path, lambda d: d.update(population=0))
    out = tmp_path / "out"
    extra = ["--date", "2026-06-10", "--jpki-outage", "10:00-11:00"] if command == "whatif" else []
    result = runner.invoke(app, ["demand", command, "-m", str(path), "--out", str(out), *extra])
    assert result.exit_code == 2, result.output
    assert str(path) in result.output and "population" in result.output
    assert not out.exists()


def test_a_bad_defaults_file_is_named_as_such(tmp_path: Path) -> None:
    defaults = tmp_path / "defaults.yaml"
    defaults.write_text("volume: {copies_per_holder_per_year: -1}\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["demand", "nation", "--params", str(defaults), "--out", str(out)])
    assert result.exit_code == 2
    assert str(defaults) in result.output and "volume.copies_per_holder_per_year" in result.output
    assert not out.exists()


def test_an_outage_ending_before_it_starts_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["demand", "whatif", "-m", str(EXAMPLES / "town-12k.yaml"), "--date", "2026-06-10",
                                 "--jpki-outage", "11:00-10:00", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 2 and "--jpki-outage" in result.output
    assert not out.exists()

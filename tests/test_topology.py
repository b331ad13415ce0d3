"""Topology files: the shipped ones load; broken ones say exactly what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.harness.config import TOPOLOGY_DIR, Mode, TopologyError, load_topology


def test_default_is_everything_emulated() -> None:
    topology = load_topology()
    assert topology.name == "default"
    assert topology.external_parties() == []
    assert topology.kiosk.mode is Mode.EMULATED
    assert topology.municipal.municipalities == ["991015", "992046", "993026", "993034", "993069"]


@pytest.mark.parametrize(
    ("file", "external"),
    [("external-kiosk.yaml", ["kiosk"]), ("external-municipal.yaml", ["municipal"])],
)
def test_shipped_examples_load(file: str, external: list[str]) -> None:
    topology = load_topology(TOPOLOGY_DIR / file)
    assert topology.external_parties() == external


@pytest.mark.parametrize(
    ("text", "messages"),
    [
        ("name: x\nkiosk: {mode: external}\n", ["kiosk", "robot_url is required"]),
        ("name: x\nmunicipal: {mode: external}\n", ["needs url, tls, test_data"]),
        ("name: x\nprinter: {mode: external}\n", ["printer.mode"]),
        ("name: x\nmunicipal: {municipalities: ['12ab']}\n", ["not 6 digits"]),
        ("name: x\nclock: {start: '2026-11-24T10:00:00'}\n", ["needs a UTC offset"]),
        ("name: x\nkiosks: {}\n", ["kiosks", "Extra inputs are not permitted"]),
        ("kiosk: {}\n", ["name", "Field required"]),
        ("- just a list\n", ["expected a mapping"]),
        ("name: [unclosed\n", ["not valid YAML"]),
    ],
)
def test_broken_topologies_name_the_problem(tmp_path: Path, text: str, messages: list[str]) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TopologyError) as err:
        load_topology(path)
    assert str(path) in str(err.value)
    for message in messages:
        assert message in str(err.value)


def test_missing_file() -> None:
    with pytest.raises(TopologyError, match="cannot read"):
        load_topology("/nonexistent/topology.yaml")


def test_incidents_path_is_relative_to_the_topology(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("name: x\nincidents: incidents.yaml\n", encoding="utf-8")
    assert load_topology(tmp_path / "t.yaml").incidents == tmp_path / "incidents.yaml"

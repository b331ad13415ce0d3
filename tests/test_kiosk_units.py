"""Several kiosk units at once: one topology lists them, `rig run` gives each a worker and
one report says which unit ran each scenario.

The end-to-end test runs two stand-alone reference kiosks (`rig kiosk` twice, from two
kiosk kits) and shards a few pseudo-store scenarios over them. It also puts the rig's
kiosk-facing parties and one kiosk's robot adapter on other loopback addresses than
127.0.0.1, so a kiosk in another process verifies the centre's certificate there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml

from reports.builder import build_report
from rig.core.pcsc import ReaderStack
from rig.core.protocols.robot import (
    ConfigExtension,
    EventsExtension,
    KioskExtensions,
    StorageExtension,
    TimeExtension,
)
from rig.harness.applicability import _common, units_declared
from rig.harness.config import TOPOLOGY_DIR, TopologyError, load_topology, parse_topology
from rig.harness.pytest_plugin import run_topology

from .rig_process import free_ports, rig, rig_party


def _unit(name: str, robot: int, centre: int, ipp: int, reader: int, **more: Any) -> dict[str, Any]:
    return {
        "name": name,
        "robot_url": f"http://127.0.0.1:{robot}/robot",
        "centre_port": centre,
        "ipp_port": ipp,
        "card_readers": {"vicc_host": "127.0.0.1", "port_base": reader},
        **more,
    }


def _units(*units: dict[str, Any], **sections: Any) -> dict[str, Any]:
    return {"name": "units", "kiosk": {"mode": "external", "units": list(units)}, **sections}


def test_the_shipped_two_unit_topology_gives_one_kiosk_topology_per_unit() -> None:
    topology = load_topology(TOPOLOGY_DIR / "two-units.yaml")
    assert [u.name for u in topology.kiosk.units] == ["unit-a", "unit-b"]
    assert topology.external_parties() == ["kiosk"]
    a, b = topology.unit_topologies()
    assert a.kiosk.robot_url == "http://127.0.0.1:8701/robot" and not a.kiosk.units
    assert (a.kiosk.centre_port, b.kiosk.centre_port) == (18443, 18444)
    assert (a.card_readers.port_base, b.card_readers.port_base) == (31110, 31111)
    # kits are relative to the topology file, one folder per unit, in the project's build/
    project = Path(__file__).resolve().parents[1]
    assert a.kiosk.kit.resolve() == project / "build" / "kiosk-kit" / "unit-a"
    assert b.kiosk.kit.resolve() == project / "build" / "kiosk-kit" / "unit-b"


def test_a_single_kiosk_topology_is_unchanged() -> None:
    topology = load_topology(TOPOLOGY_DIR / "external-kiosk.yaml")
    assert topology.kiosk.units == []
    assert topology.unit_topologies() == [topology]
    project = Path(__file__).resolve().parents[1]
    assert topology.kiosk.kit.resolve() == project / "build" / "kiosk-kit"


def test_a_unit_kit_defaults_to_its_own_folder(tmp_path: Path) -> None:
    topology = parse_topology(
        _units(_unit("a", 1, 18001, 18002, 40100), _unit("b", 2, 18003, 18004, 40101)),
        base=tmp_path,
    )
    assert topology.unit_topology("b").kiosk.kit == Path("build/kiosk-kit/b")
    with pytest.raises(TopologyError, match=r"no kiosk unit 'c' \(units: a, b\)"):
        topology.unit_topology("c")


@pytest.mark.parametrize(
    ("document", "messages"),
    [
        (
            _units(_unit("a", 1, 18001, 18002, 40100), _unit("a", 2, 18003, 18004, 40101)),
            ["units a.name and a.name are the same"],
        ),
        (
            _units(_unit("a", 1, 18001, 18002, 40100), _unit("b", 1, 18003, 18004, 40101)),
            ["b.robot_url and a.robot_url"],
        ),
        (
            _units(_unit("a", 1, 18001, 18002, 40100), _unit("b", 2, 18002, 18004, 40101)),
            ["units b.centre_port and a.ipp_port are the same (port 18002)"],
        ),
        (
            _units(_unit("a", 1, 18001, 18002, 40100), _unit("b", 2, 18003, 18004, 40100)),
            ["units b.card_readers and a.card_readers are the same (vpcd 127.0.0.1:40100)"],
        ),
        (
            _units(
                _unit("a", 1, 18001, 18002, 40100, kit="k"),
                _unit("b", 2, 18003, 18004, 40101, kit="k"),
            ),
            ["b.kit and a.kit"],
        ),
        (
            _units(_unit("a", 1, 18001, 18002, 40100), cash={"transport": "tcp"}),
            ["unit a: bill_validator_tcp_port is required with cash transport tcp"],
        ),
        (
            {"name": "x", "kiosk": {"units": [_unit("a", 1, 18001, 18002, 40100)]}},
            ["the kiosk must be external"],
        ),
        (
            {
                "name": "x",
                "kiosk": {
                    "mode": "external",
                    "robot_url": "http://127.0.0.1:1/robot",
                    "units": [_unit("a", 1, 18001, 18002, 40100)],
                },
            },
            ["each unit has its own robot_url"],
        ),
        (_units({"name": "a b", "robot_url": "x"}), ["kiosk.units.0.name", "centre_port"]),
    ],
)
def test_broken_unit_lists_name_the_problem(document: dict[str, Any], messages: list[str]) -> None:
    with pytest.raises(TopologyError) as err:
        parse_topology(document, "t.yaml")
    for message in messages:
        assert message in str(err.value)


class _Config:
    """What `run_topology` reads of a pytest config: options, stash and xdist's worker id."""

    def __init__(self, topology: Path, worker: str | None):
        self.stash = pytest.Stash()
        self.topology = str(topology)
        if worker is not None:
            self.workerinput = {"workerid": worker}

    def getoption(self, name: str) -> str:
        assert name == "--rig-topology"
        return self.topology


@pytest.mark.parametrize(
    ("worker", "unit"), [(None, "unit-a"), ("gw0", "unit-a"), ("gw1", "unit-b"), ("gw2", "unit-a")]
)
def test_each_worker_is_bound_to_its_unit(worker: str | None, unit: str) -> None:
    config: Any = _Config(TOPOLOGY_DIR / "two-units.yaml", worker)
    topology, name = run_topology(config)
    assert name == unit
    assert topology == load_topology(TOPOLOGY_DIR / "two-units.yaml").unit_topology(unit)
    assert run_topology(config)[0] is topology  # loaded once per process


def test_the_report_says_which_unit_ran_each_scenario(tmp_path: Path) -> None:
    tests: list[dict[str, Any]] = [
        {"nodeid": f"scenarios/test_x.py::test_{i}", "outcome": o, "requirements": [],
         "area": "x", "unit": u, "message": "boom" if o == "failed" else ""}
        for i, (o, u) in enumerate([("passed", "unit-a"), ("failed", "unit-b"),
                                    ("passed", "unit-b")])
    ]  # fmt: skip
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"plan": "pseudo-store", "tests": tests}), encoding="utf-8")
    summary = build_report(results, tmp_path, meta={"finished_at": "t"}, record_history=False)
    assert summary["units"]["unit-a"]["totals"] == {"passed": 1}
    assert summary["units"]["unit-b"]["totals"] == {"failed": 1, "passed": 1}
    assert [f["unit"] for f in summary["new_failures"]] == ["unit-b"]
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Kiosk units" in html and "unit-b" in html
    # a run on one kiosk has no unit section
    for t in tests:
        del t["unit"]
    results.write_text(json.dumps({"plan": "pseudo-store", "tests": tests}), encoding="utf-8")
    summary = build_report(results, tmp_path, meta={"finished_at": "t"}, record_history=False)
    assert summary["units"] == {}
    assert "Kiosk units" not in (tmp_path / "index.html").read_text(encoding="utf-8")


# -- end to end: two stand-alone kiosks --------------------------------------------------

#: two pseudo-store scenarios (JPKI and card AP): with fewer scenarios than two per worker,
#: xdist deals them out one by one, so each unit runs one
SELECTION = "test_pseudo_store_issuance_by_each_method"


def _two_unit_topology(folder: Path, readers: list[int]) -> Path:
    robots = free_ports(2)
    centre_a, ipp_a, centre_b, ipp_b = free_ports(4)
    document = _units(
        {**_unit("unit-a", robots[0], centre_a, ipp_a, readers[0]), "kit": "kit-a"},
        {
            **_unit("unit-b", robots[1], centre_b, ipp_b, readers[1]),
            "kit": "kit-b",
            # this unit's adapter is on another loopback address of the machine
            "robot_url": f"http://127.0.0.3:{robots[1]}/robot",
        },
        # the kiosks reach the rig's centre and printer at 127.0.0.2 and verify its name
        centre={"listen": "127.0.0.2"},
        printer={"listen": "127.0.0.2"},
    )
    path = folder / "two-units.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def two_kiosks(
    tmp_path_factory: pytest.TempPathFactory, reader_stack: ReaderStack
) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("two-units")
    # scenarios take the lowest free readers and test_external_kiosk.py's kiosk the top one:
    # the two below it are the least contended; each kiosk process locks its own
    readers = [reader_stack.reader_port(name) for name in reader_stack.readers()[-3:-1]]
    topology = _two_unit_topology(folder, readers)
    kit = rig("kiosk-kit", "--topology", str(topology), timeout=120)
    assert kit.returncode == 0, kit.stdout + kit.stderr
    with ExitStack() as stack:
        for unit in ("a", "b"):
            kiosk = [
                "--kit",
                str(folder / f"kit-{unit}"),
                "--work-dir",
                str(folder / f"kiosk-{unit}"),
            ]
            stack.enter_context(rig_party("kiosk", *kiosk, log=folder / f"kiosk-{unit}.log"))
        yield {"folder": folder, "topology": topology}


def test_each_kit_names_the_rig_at_its_listen_address(two_kiosks: dict[str, Any]) -> None:
    topology = load_topology(two_kiosks["topology"])
    for unit in topology.kiosk.units:
        kit = json.loads((unit.kit_folder / "kiosk.json").read_text(encoding="utf-8"))
        assert kit["centre_url"] == f"https://127.0.0.2:{unit.centre_port}/v1"
        assert kit["ipp_uri"] == f"ipp://127.0.0.2:{unit.ipp_port}/ipp/print"
        assert kit["robot_url"] == unit.robot_url
    log = (two_kiosks["folder"] / "kiosk-b.log").read_text(encoding="utf-8")
    assert "robot_url: http://127.0.0.3:" in log


@pytest.mark.slow  # two kiosk processes and a run with two workers: about a minute
def test_a_run_is_sharded_over_two_units_into_one_report(
    two_kiosks: dict[str, Any], tmp_path: Path
) -> None:
    report = tmp_path / "report"
    done = rig(
        "run", "--plan", "pseudo-store", "--topology", str(two_kiosks["topology"]),
        "--report-dir", str(report), "-k", SELECTION,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 kiosk units (unit-a, unit-b): one worker each" in done.stdout
    results = json.loads((report / "results.json").read_text(encoding="utf-8"))
    ran = {t["nodeid"].split("::")[-1]: t for t in results["tests"]}
    assert len(ran) == 2 and all(t["outcome"] == "passed" for t in ran.values()), ran
    units = {t["unit"] for t in ran.values()}
    assert units == {"unit-a", "unit-b"}  # both units ran scenarios
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["tests"] == 2
    assert {name: u["totals"] for name, u in summary["units"].items()} == {
        "unit-a": {"passed": 1},
        "unit-b": {"passed": 1},
    }
    assert "Kiosk units" in (report / "index.html").read_text(encoding="utf-8")
    # each kiosk process saw only its own unit's scenarios: its audit log has their resets
    for unit in ("a", "b"):
        audit = (two_kiosks["folder"] / f"kiosk-{unit}" / "state" / "audit.jsonl").read_text()
        resets = [line for line in audit.splitlines() if '"kiosk_reset"' in line]
        mine = [t for t in ran.values() if t["unit"] == f"unit-{unit}"]
        assert len(resets) >= len(mine) > 0


def test_a_scenario_applies_to_units_only_for_what_every_unit_declares() -> None:
    """A sharded plan may send any scenario to any unit: the extensions that count are those
    all units declare (each unit's /info), and a unit that does not answer declares none."""
    full = KioskExtensions(
        time=TimeExtension(max_advance_s=600),
        config=ConfigExtension(settings=["centre_url", "trust_anchor"], restart=["application"]),
        events=EventsExtension(),
        storage=StorageExtension(max_bytes=1000),
    )
    less = KioskExtensions(
        time=TimeExtension(max_advance_s=60),
        config=ConfigExtension(settings=["centre_url"], restart=["application", "printer"]),
    )
    both = _common(full, less)
    assert both is not None
    assert both.config == ConfigExtension(settings=["centre_url"], restart=["application"])
    assert both.time == TimeExtension(max_advance_s=60)
    assert both.events is None and both.storage is None
    assert _common(full, None) is None


def test_each_units_info_is_asked(two_kiosks: dict[str, Any], tmp_path: Path) -> None:
    topology = load_topology(two_kiosks["topology"])
    declared = units_declared(topology)
    # both stand-alone reference kiosks run in test mode: everything is declared
    assert declared is not None and declared.config is not None
    assert "application" in declared.config.restart and declared.events is not None
    gone = topology.model_copy(
        update={
            "kiosk": topology.kiosk.model_copy(
                update={
                    "units": [
                        topology.kiosk.units[0],
                        topology.kiosk.units[1].model_copy(
                            update={"robot_url": f"http://127.0.0.1:{free_ports(1)[0]}/robot"}
                        ),
                    ]
                }
            )
        }
    )
    assert units_declared(gone) is None

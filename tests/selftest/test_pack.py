"""The defect pack and its selection by topology (no scenario runs here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from emulators.kiosk import ReferenceKiosk
from emulators.kiosk.defects import ShortChangeKiosk, SimplexKiosk
from emulators.municipal import MunicipalServer
from emulators.municipal.defects import CrossTalkServer
from rig.core.requirements import load_catalogue
from rig.harness.cli import app
from rig.harness.config import TopologyError, load_topology, parse_topology
from rig.harness.selftest.pack import DEFECTS, EXTRA_PACKS_ENV, DefectPackError, all_defects, find
from rig.harness.selftest.variants import variant_class

AREAS = {"cash", "printing", "privacy", "hours", "refusals", "statistics", "isolation"}
#: notes/domain.md, "Incidents the rig must be able to catch"
INCIDENTS = ["横浜市", "川崎市", "徳島市", "新潟市", "宗像市", "高松市"]


def test_the_reference_parties_without_defects() -> None:
    topology = load_topology()
    assert topology.defects == []
    assert variant_class(topology, "kiosk", ReferenceKiosk) is ReferenceKiosk
    assert variant_class(topology, "municipal", MunicipalServer) is MunicipalServer
    assert variant_class(None, "kiosk", ReferenceKiosk) is ReferenceKiosk


@pytest.mark.parametrize(
    ("defects", "kiosk", "server"),
    [
        (["kiosk-simplex"], SimplexKiosk, MunicipalServer),
        (["server-cross-talk"], ReferenceKiosk, CrossTalkServer),
        (["kiosk-short-change", "server-cross-talk"], ShortChangeKiosk, CrossTalkServer),
    ],
)
def test_the_topology_picks_the_variant(
    defects: list[str], kiosk: type[ReferenceKiosk], server: type[MunicipalServer]
) -> None:
    topology = parse_topology({"name": "t", "defects": defects})
    assert variant_class(topology, "kiosk", ReferenceKiosk) is kiosk
    assert variant_class(topology, "municipal", MunicipalServer) is server


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"defects": ["no-such-defect"]}, "unknown defect 'no-such-defect': choose one of"),
        ({"defects": ["kiosk-simplex", "kiosk-short-change"]}, "at most one kiosk defect"),
        (
            {"defects": ["kiosk-simplex"], "kiosk": {"mode": "external", "robot_url": "http://x"}},
            "a kiosk defect needs the kiosk emulated",
        ),
        ({"defects": "kiosk-simplex"}, "defects"),
    ],
)
def test_bad_defects_are_topology_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(TopologyError, match="defects") as caught:
        parse_topology({"name": "t", **data}, "t.yaml")
    assert message in str(caught.value)


def test_an_unknown_defect_in_a_topology_file_exits_2(tmp_path: Path) -> None:
    topology = tmp_path / "t.yaml"
    topology.write_text("name: t\ndefects: [no-such-defect]\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--plan", "smoke", "--topology", str(topology)])
    assert result.exit_code == 2
    assert "unknown defect 'no-such-defect'" in result.output


def test_an_unknown_defect_for_selftest_exits_2() -> None:
    result = CliRunner().invoke(app, ["selftest", "--defect", "no-such-defect"])
    assert result.exit_code == 2
    assert "unknown defect" in result.output


def test_every_defect_loads_a_proper_variant() -> None:
    for defect in DEFECTS:
        topology = parse_topology({"name": "t", "defects": [defect.name]})
        base: type = ReferenceKiosk if defect.party == "kiosk" else MunicipalServer
        chosen = variant_class(topology, defect.party, base)
        assert issubclass(chosen, base) and chosen is not base, defect.name


def test_the_pack_covers_every_area_and_incident() -> None:
    assert {d.area for d in DEFECTS} >= AREAS
    stands_for = " ".join(d.stands_for for d in DEFECTS)
    missing = [place for place in INCIDENTS if place not in stands_for]
    assert not missing, missing
    assert {d.party for d in DEFECTS} == {"kiosk", "municipal"}


def test_every_target_is_a_catalogue_requirement() -> None:
    catalogue = load_catalogue()
    for defect in DEFECTS:
        assert defect.requirements, defect.name
        for rid in defect.requirements:
            catalogue.get(rid)  # raises for an unknown id


def test_extra_packs_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EXTRA_PACKS_ENV, "tests.selftest.noop_pack")
    assert find("test-no-op").plan == "municipal-server"
    assert len(all_defects()) == len(DEFECTS) + 1
    monkeypatch.setenv(EXTRA_PACKS_ENV, "tests.selftest.no_such_module")
    with pytest.raises(DefectPackError, match="cannot import"):
        all_defects()
    monkeypatch.setenv(EXTRA_PACKS_ENV, "rig.harness.selftest.pack,rig.harness.selftest.pack")
    with pytest.raises(DefectPackError, match="used twice"):
        all_defects()


def test_a_scenario_failing_against_the_reference_catches_nothing() -> None:
    from rig.harness.selftest.runner import PlanRun, judge

    a, b = "scenarios/test_x.py::test_a", "scenarios/test_x.py::test_b"
    defect = find("server-closing-second")
    run = PlanRun("municipal-server", "t.yaml", ("HOURS-004",), 1, 1.0, {a: "failed", b: "error"})
    baseline = PlanRun(
        "municipal-server", "b.yaml", ("HOURS-004",), 1, 1.0, {a: "passed", b: "failed"}
    )
    result = judge(defect, run, baseline)
    assert result.caught_by == [a] and result.also_failing_in_baseline == [b]
    assert result.detected
    assert not judge(defect, run, run).detected  # everything failed in the baseline too
    run.problem = "pytest exited with 2"
    assert not judge(defect, run, None).detected  # a broken run judges nothing


def test_only_the_modules_naming_a_target_are_collected() -> None:
    from rig.harness.selftest.runner import SCENARIOS, scenario_paths

    assert [p.name for p in scenario_paths(["CERT-020"])] == ["test_refusals.py"]
    assert scenario_paths([]) == [SCENARIOS]
    assert scenario_paths(["NO-SUCH-001"]) == [SCENARIOS]


def test_the_conformance_report_links_the_matrix_beside_it(tmp_path: Path) -> None:
    from reports.builder import selftest_line

    latest = tmp_path / "latest"
    assert selftest_line(latest) == ""  # no selftest run yet
    (tmp_path / "selftest").mkdir()
    matrix = tmp_path / "selftest" / "selftest.json"
    matrix.write_text('{"detected": 15, "defects": 16, "finished_at": "t"}', encoding="utf-8")
    line = selftest_line(latest)
    assert "15 of 16 defects" in line and "../selftest/selftest.html" in line
    matrix.write_text("{not json", encoding="utf-8")
    assert selftest_line(latest) == ""

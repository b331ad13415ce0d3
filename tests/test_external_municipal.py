"""The municipal-server plan against an issuance server outside the rig's process.

The emulated server runs stand-alone (`rig municipal-server`, a separate process on a fixed
port with its own clock) and hands over its test data, TLS files and a topology; `rig run`
then drives it over the network as it would a municipality's server. Also: the test-data
file format and the refusals of `rig run` for what it cannot drive.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rig.core.municipal_test_data import (
    MunicipalDataError,
    MunicipalTestData,
    NotInTestData,
    load_test_data,
)
from rig.harness.config import TopologyError, load_topology
from rig.harness.runner import check_runnable

from .rig_process import free_ports, rig, rig_party, run_plan

#: one scenario per kind of check that applies to an external server with its extensions
SELECTION = (
    "test_every_type_is_issued_to_the_applicant and resident_record-jpki"
    " or test_every_type_is_issued_to_the_applicant and resident_record-card_ap"
    " or test_only_the_centres_certificate_is_served"
    " or test_refused_at_authentication"
    " or test_a_wrong_pin_is_refused_and_may_be_tried_again"
    " or test_many_kiosks_at_once_each_get_their_own"
    " or test_removed_persons_are_left_out"
    " or test_the_registry_as_it_stands_at_issuance and jpki"
    " or test_the_move_in_day_is_a_japan_time_day"
    " or test_koseki_hours"
    " or test_year_end_closure_at_the_issuance_server"
    " or test_maintenance_starts_during_a_session"
)


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("standalone-municipal")
    (port,) = free_ports(1)
    with rig_party(
        "municipal-server", "--port", str(port), "--work-dir", str(folder / "srv"),
        log=folder / "server.log",
    ):  # fmt: skip
        yield {"folder": folder / "srv", "topology": folder / "srv" / "topology.yaml", "port": port}


def test_standalone_server_hands_over_what_an_external_one_would(
    standalone: dict[str, Any],
) -> None:
    topology = load_topology(standalone["topology"])
    assert topology.external_parties() == ["municipal"]
    assert topology.municipal.url == f"https://127.0.0.1:{standalone['port']}/v1"
    assert topology.municipal.test_data is not None
    data = load_test_data(topology.municipal.test_data)
    assert data.codes == ["991015", "992046", "993026", "993034", "993069"]
    city = data.municipality("991015")
    assert city.residents["eligible"] and city.residents["every_type"]
    listed = {rid for ids in city.residents.values() for rid in ids}
    assert set(city.jpki_users) == listed == {u.resident for u in city.card_ap_users}
    check_runnable("municipal-server", topology)  # no complaint


def test_municipal_server_plan_against_the_external_server(
    standalone: dict[str, Any], tmp_path: Path
) -> None:
    report = tmp_path / "report"
    outcomes = run_plan("municipal-server", standalone["topology"], report, SELECTION)
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    passed = [n for n, t in outcomes.items() if t["outcome"] == "passed"]
    skipped = {n: t["message"] for n, t in outcomes.items() if t["outcome"] == "skipped"}
    assert summary["totals"].get("failed", 0) == 0
    assert any(n.startswith("test_every_type_is_issued_to_the_applicant") for n in passed)
    assert any(n.startswith("test_only_the_centres_certificate_is_served") for n in passed)
    assert "test_many_kiosks_at_once_each_get_their_own" in passed
    assert any(n.startswith("test_refused_at_authentication") for n in passed)
    # a test resident's hidden facts read, the registry changed (and restored) through its
    # test-registry route
    removed = [n for n in outcomes if n.startswith("test_removed_persons_are_left_out")]
    assert len(removed) == 2 and all(outcomes[n]["outcome"] == "passed" for n in removed)
    assert "test_the_registry_as_it_stands_at_issuance[jpki]" in passed
    changes = [
        json.loads(line)
        for line in (standalone["folder"] / "evidence" / "municipal-test-registry.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    assert [c["fields"] for c in changes[-2:]] == [["address", "given_name"]] * 2  # and undone
    # a date boundary on its held clock, straight on LGWAN
    assert "test_the_move_in_day_is_a_japan_time_day" in passed
    assert not [n for n, m in skipped.items() if "not applicable" in m]
    # its calendar is moved through its test-mode clock: the hours scenarios apply
    hours = [n for n in outcomes if n.startswith("test_koseki_hours")]
    assert len(hours) == 5 and all(outcomes[n]["outcome"] == "passed" for n in hours)
    assert "test_year_end_closure_at_the_issuance_server" in passed
    assert "test_maintenance_starts_during_a_session" in passed
    # the issuances really went over the network to the other process, with the rig's
    # centre certificate
    requests = [
        json.loads(line)
        for line in (standalone["folder"] / "evidence" / "municipal-http.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    issued = [
        r for r in requests
        if r.get("event") == "request" and r.get("path", "").endswith("/certificates")
        and r.get("status") == 201
    ]  # fmt: skip
    assert issued and {r["peer"] for r in issued} == {"issuance-centre"}


def test_without_a_test_clock_the_hours_are_not_applicable(
    standalone: dict[str, Any], tmp_path: Path
) -> None:
    """The same server, its test data declaring no test-mode clock: the hours scenarios are
    reported not applicable, with the reason, and nothing reaches the server."""
    folder = standalone["folder"]
    data = yaml.safe_load((folder / "municipal-test-data.yaml").read_text(encoding="utf-8"))
    assert data.pop("test_clock") == "/test/clock"
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    document = yaml.safe_load(standalone["topology"].read_text(encoding="utf-8"))
    document["municipal"]["test_data"] = str(tmp_path / "data.yaml")
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    outcomes = run_plan(
        "municipal-server", tmp_path / "topology.yaml", tmp_path / "r", "test_koseki_hours"
    )
    assert len(outcomes) == 5
    for outcome in outcomes.values():
        assert outcome["outcome"] == "skipped"
        assert "declares no test-mode clock" in outcome["message"]


def _with_test_data(standalone: dict[str, Any], folder: Path, **changes: Any) -> Path:
    """The stand-alone server's topology, its test data changed (None: the key removed)."""
    data = yaml.safe_load(
        (standalone["folder"] / "municipal-test-data.yaml").read_text(encoding="utf-8")
    )
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    (folder / "data.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    document = yaml.safe_load(standalone["topology"].read_text(encoding="utf-8"))
    document["municipal"]["test_data"] = str(folder / "data.yaml")
    (folder / "topology.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return folder / "topology.yaml"


def test_without_a_test_registry_its_scenarios_are_not_applicable(
    standalone: dict[str, Any], tmp_path: Path
) -> None:
    topology = _with_test_data(standalone, tmp_path, test_registry=None)
    outcomes = run_plan(
        "municipal-server", topology, tmp_path / "r", "test_removed_persons_are_left_out"
    )
    assert len(outcomes) == 2
    for outcome in outcomes.values():
        assert outcome["outcome"] == "skipped"
        assert "declares no test-registry route (test_registry" in outcome["message"]


def test_a_test_registry_that_misbehaves_fails_the_scenario_naming_the_route(
    standalone: dict[str, Any], tmp_path: Path
) -> None:
    """The test data points test_registry at a route that answers something else (the
    server's clock): the scenario fails naming the route and what came back."""
    topology = _with_test_data(standalone, tmp_path, test_registry="/test/clock")
    done = rig(
        "run", "--plan", "municipal-server", "--topology", str(topology),
        "--report-dir", str(tmp_path / "r"), "-k",
        "test_removed_persons_are_left_out and deceased",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
    (failed,) = results["tests"]
    assert failed["outcome"] == "failed"
    assert "/v1/test/clock?resident=" in failed["message"]
    assert "with what is not a TestResident" in failed["message"]


# -- refusals of rig run, and the test-data file --------------------------------------------


def test_only_the_municipal_server_plan_drives_an_external_server(
    standalone: dict[str, Any],
) -> None:
    topology = load_topology(standalone["topology"])
    with pytest.raises(TopologyError, match="--plan municipal-server"):
        check_runnable("full", topology)


def test_an_external_jpki_responder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "name: t\njpki: {mode: external, ocsp_url: 'http://192.0.2.30/ocsp'}\n", encoding="utf-8"
    )
    with pytest.raises(TopologyError, match="external JPKI responder"):
        check_runnable("full", load_topology(tmp_path / "t.yaml"))


def test_a_missing_test_data_file_stops_the_run(tmp_path: Path) -> None:
    text = yaml.safe_dump(
        {
            "name": "t",
            "municipal": {
                "mode": "external",
                "url": "https://127.0.0.1:1/v1",
                "test_data": "absent.yaml",
                "tls": {"ca_bundle": "a", "client_cert": "b", "client_key": "c"},
            },
        }
    )
    (tmp_path / "t.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(TopologyError, match=r"absent\.yaml: cannot read"):
        check_runnable("municipal-server", load_topology(tmp_path / "t.yaml"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"municipalities": []}, "name at least one municipality"),
        ({"municipalities": [{"code": "131016"}]}, "not a rig test municipality"),
        ({"municipalities": [{"code": "991015"}, {"code": "991015"}]}, "listed twice"),
        ({"municipalities": [{"code": "991015", "jpki_users": {"R1": "xyz"}}]}, "not hex"),
        (
            {
                "municipalities": [
                    {
                        "code": "991015",
                        "card_ap_users": [
                            {"resident": "R1", "user_id": "X1", "pin": "12", "key": "00"}
                        ],
                    }
                ]
            },
            "card_ap_users.0.user_id",
        ),
        ({"municipalities": [{"code": "991015", "extra": 1}]}, "Extra inputs"),
        ([1, 2], "expected a mapping"),
    ],
)
def test_a_broken_test_data_file_names_the_problem(tmp_path: Path, data: Any, message: str) -> None:
    path = tmp_path / "data.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(MunicipalDataError) as err:
        load_test_data(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_what_the_test_data_does_not_name_is_not_in_test_data() -> None:
    data = MunicipalTestData.model_validate(
        {"municipalities": [{"code": "991015", "residents": {"eligible": ["R1"]}}]}
    )
    assert data.resident("991015", "eligible") == "R1"
    with pytest.raises(NotInTestData, match="needs #2"):
        data.resident("991015", "eligible", index=1)
    with pytest.raises(NotInTestData, match="trait 'deceased'"):
        data.resident("991015", "deceased")
    with pytest.raises(NotInTestData, match="hosts no test municipality 993026"):
        data.resident("993026", "eligible")
    with pytest.raises(NotInTestData, match="JPKI"):
        data.municipality("991015").jpki_serial("R1")
    with pytest.raises(NotInTestData, match="card-AP"):
        data.municipality("991015").card_ap_user("R1")

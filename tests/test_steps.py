"""Steps: the customer's actions recorded in order, nested, with the failing one marked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reports.builder import build_report
from rig.core.evidence import EvidenceStore
from rig.core.requirements import load_catalogue
from rig.core.steps import recording, step, story

pytest_plugins = ["pytester"]


class Person:
    def __init__(self) -> None:
        self.screen = "top"

    @step("taps {option}")
    def tap(self, option: str) -> str:
        if option == "broken":
            raise AssertionError("no such option on the screen")
        self.screen = option
        return option

    @step("enters the PIN ({pin!len})")
    def enter_pin(self, pin: str) -> None:
        self.tap("ok")

    @step("buys {copies} copies of {what}")
    def buy(self, what: str, copies: int = 1) -> None:
        self.tap(what)
        self.enter_pin("4321")


def test_steps_are_recorded_in_order_nested_and_without_the_pin(tmp_path: Path) -> None:
    evidence = EvidenceStore(tmp_path)
    person = Person()
    with recording(evidence):
        person.buy("resident_record", copies=2)
    steps = story(str(tmp_path))
    assert [(s["title"], s["depth"], s["outcome"]) for s in steps] == [
        ("buys 2 copies of resident_record", 0, "passed"),
        ("taps resident_record", 1, "passed"),
        ("enters the PIN (4 digits)", 1, "passed"),
        ("taps ok", 2, "passed"),
    ]
    assert "4321" not in (tmp_path / "steps.jsonl").read_text()


def test_the_failing_step_is_marked_with_its_error(tmp_path: Path) -> None:
    person = Person()
    with recording(EvidenceStore(tmp_path)), pytest.raises(AssertionError):
        person.tap("next")
        person.tap("broken")
    steps = story(str(tmp_path))
    assert [s["outcome"] for s in steps] == ["passed", "failed"]
    assert steps[1]["error"] == "AssertionError: no such option on the screen"


def test_outside_a_test_steps_record_nothing(tmp_path: Path) -> None:
    assert Person().tap("next") == "next"
    assert story(str(tmp_path)) == []
    assert story(None) == []


def test_a_failed_scenario_reads_as_the_customer_s_story_in_the_report(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    rid = load_catalogue().ids[0]
    scenarios = pytester.mkdir("scenarios")
    (scenarios / "test_payment.py").write_text(
        "import pytest\n"
        "from rig.core.steps import step\n"
        "@step('inserts a {yen}-yen bill')\n"
        "def insert(yen):\n"
        "    assert yen != 5000, 'the bill came back'\n"
        f"@pytest.mark.requirement({rid!r})\n"
        "def test_pays(evidence):\n"
        "    insert(1000)\n"
        "    insert(5000)\n",
        encoding="utf-8",
    )
    results = tmp_path / "run" / "results.json"
    evidence_dir = tmp_path / "evidence"
    result = pytester.runpytest(
        "scenarios", "--rig-plan=full", f"--rig-results={results}",
        f"--rig-evidence-dir={evidence_dir}",
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    summary = build_report(results, tmp_path / "run", meta={"finished_at": "t1"})
    [failure] = summary["new_failures"]
    assert [(s["title"], s["outcome"]) for s in failure["steps"]] == [
        ("inserts a 1000-yen bill", "passed"),
        ("inserts a 5000-yen bill", "failed"),
    ]
    html = (tmp_path / "run" / "index.html").read_text()
    assert "✗ inserts a 5000-yen bill" in html and "the bill came back" in html
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["new_failures"][0]["steps"]


def test_titles_say_screens_and_amounts_as_a_person_would(tmp_path: Path) -> None:
    from rig.core.protocols.robot import ScreenId

    @step("waits for {screens}")
    def wait_for(*screens: ScreenId) -> None:
        pass

    @step("pays {amounts} yen")
    def pay(*amounts: int) -> None:
        pass

    with recording(EvidenceStore(tmp_path)):
        wait_for(ScreenId.PIN, ScreenId.NOTICE)
        pay(1000, 50)
    assert [s["title"] for s in story(str(tmp_path))] == [
        "waits for pin or notice",
        "pays 1000, 50 yen",
    ]

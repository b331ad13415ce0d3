"""The requirement catalogue: the shipped file is well formed, and the validator catches each fault."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rig.core.requirements import (
    Basis,
    Catalogue,
    CatalogueError,
    Interface,
    Party,
    Severity,
    UnknownRequirementError,
    area_table,
    default_path,
    load_catalogue,
    parse_catalogue,
    shipped_catalogue,
)
from rig.core.requirements.__main__ import main as cli_main
from rig.core.requirements.loader import REQUIREMENT_ID
from rig.core.requirements.sources import DOCUMENT_HEADINGS, source_problem
from rig.harness.fuzz import examples

DOCS = Path(__file__).resolve().parents[1] / "docs" / "requirements.md"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data = yaml.safe_load(default_path().read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# -- the shipped catalogue ------------------------------------------------------------------


def test_shipped_catalogue_loads_every_entry(catalogue: Catalogue, raw: dict[str, Any]) -> None:
    assert len(catalogue) == len(raw["requirements"])
    assert 100 <= len(catalogue) <= 200
    assert shipped_catalogue() is shipped_catalogue()
    assert shipped_catalogue().ids == catalogue.ids


def test_every_id_is_unique_and_well_formed(catalogue: Catalogue, raw: dict[str, Any]) -> None:
    ids = [entry["id"] for entry in raw["requirements"]]
    duplicates = sorted({rid for rid in ids if ids.count(rid) > 1})
    assert duplicates == []
    for req in catalogue:
        match = REQUIREMENT_ID.match(req.id)
        assert match is not None, req.id
        assert match["area"] == req.area, req.id


def test_every_severity_area_interface_and_party_is_known(catalogue: Catalogue) -> None:
    for req in catalogue:
        assert isinstance(req.severity, Severity)
        assert req.area in catalogue.areas
        assert req.observed_at and all(isinstance(i, Interface) for i in req.observed_at)
        assert isinstance(req.party, Party)


def test_every_area_has_requirements(catalogue: Catalogue) -> None:
    empty = [code for code, counts in catalogue.area_counts().items() if not counts]
    assert empty == []


def test_every_source_names_the_seed_a_notes_file_or_design(catalogue: Catalogue) -> None:
    for req in catalogue:
        assert req.sources, req.id
        for citation in req.sources:
            assert source_problem(citation) is None, (req.id, citation)
            assert re.match(r"^(seed |notes/(domain|interfaces)\.md: |DESIGN\.md: )", citation)


@pytest.mark.parametrize(
    "section",
    [
        *("I.1", "I.2", "I.3", "I.4.1", "I.4.2", "I.4.3", "I.4.4", "II.5"),
        *("II.7.1", "II.7.2", "II.7.3", "II.7.4", "III.2.5"),
    ],
)
def test_every_seed_section_in_scope_is_cited(catalogue: Catalogue, section: str) -> None:
    cited = [
        req.id
        for req in catalogue
        for citation in req.sources
        if re.match(rf"^seed {re.escape(section)}(?=[ ,]|$)", citation)
    ]
    assert cited, f"no requirement cites seed {section}"


@pytest.mark.parametrize("heading", sorted(DOCUMENT_HEADINGS["notes/domain.md"]))
def test_every_domain_note_section_is_cited(catalogue: Catalogue, heading: str) -> None:
    assert any(f"notes/domain.md: {heading}" in req.sources for req in catalogue)


@pytest.mark.parametrize(("area", "method"), [("JPKI-FLOW", "I.4.2"), ("CARDAP-FLOW", "I.4.4")])
def test_both_screen_sequences_name_all_fifteen_screens(
    catalogue: Catalogue, area: str, method: str
) -> None:
    order = next(req for req in catalogue.by_area(area) if "in the order" in req.statement)
    positions = [order.statement.index(mark) for mark in "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮"]
    assert positions == sorted(positions)
    assert any(citation.startswith(f"seed {method}") for citation in order.sources)


def test_the_two_methods_differ_where_the_seed_says(catalogue: Catalogue) -> None:
    # JPKI: PIN (③) before removal (④); card AP: removal (③) before selection (④) and PIN (⑤)
    jpki = catalogue.get("JPKI-FLOW-001").statement
    card_ap = catalogue.get("CARDAP-FLOW-001").statement
    assert jpki.index("PIN entry") < jpki.index("card removal") < jpki.index("selection")
    assert card_ap.index("card removal") < card_ap.index("selection") < card_ap.index("PIN")


def test_seed_figures_are_carried(catalogue: Catalogue) -> None:
    assert "123 yen" in catalogue.get("SETTLE-001").statement
    tiers = catalogue.get("SETTLE-006").statement
    for amount in ("10,000,000", "8,000,000", "5,000,000", "3,000,000", "1,000,000"):
        assert amount in tiers
    hours = catalogue.get("HOURS-001").statement
    assert "06:30:00" in hours and "23:00:00" in hours
    assert "29 December to 3 January" in catalogue.get("HOURS-002").statement


def test_privacy_wrong_person_and_money_are_critical(catalogue: Catalogue) -> None:
    for area in ("PRIV", "ISO", "SEC"):
        minor_or_major = [
            r.id for r in catalogue.by_area(area) if r.severity is not Severity.CRITICAL
        ]
        # PRIV-006 (no staff step) is presentation; everything else there is critical
        assert set(minor_or_major) <= {"PRIV-006"}, minor_or_major
    assert catalogue.get("SETTLE-001").severity is Severity.CRITICAL


def test_statements_are_one_line_shall_statements(catalogue: Catalogue) -> None:
    for req in catalogue:
        assert "\n" not in req.statement
        assert re.search(r"\bshall\b", req.statement), req.id


# -- lookups ---------------------------------------------------------------------------------


def test_lookup_by_id_and_area(catalogue: Catalogue) -> None:
    req = catalogue.get("SETTLE-001")
    assert req is catalogue["SETTLE-001"]
    assert "SETTLE-001" in catalogue and "SETTLE-999" not in catalogue
    assert req in catalogue.by_area("SETTLE")
    assert {r.area for r in catalogue.by_area("ISO")} == {"ISO"}
    assert catalogue.area("ISO").title


def test_unknown_id_names_close_matches(catalogue: Catalogue) -> None:
    with pytest.raises(UnknownRequirementError, match=r"SETTLE-001") as info:
        catalogue.get("SETLE-001")
    assert info.value.requirement_id == "SETLE-001"
    with pytest.raises(KeyError, match="unknown area 'NOPE'"):
        catalogue.by_area("NOPE")


def test_lookups_by_severity_interface_and_party(catalogue: Catalogue) -> None:
    critical = catalogue.by_severity("critical")
    assert critical and all(r.severity is Severity.CRITICAL for r in critical)
    ocsp = catalogue.by_interface(Interface.OCSP)
    assert catalogue.get("OCSP-001") in ocsp
    assert all(Interface.OCSP in r.observed_at for r in ocsp)
    server = catalogue.by_party("issuance-server")
    assert catalogue.get("HOURS-004") in server and catalogue.get("HOURS-001") not in server
    sizes = [len(catalogue.by_severity(s)) for s in Severity]
    assert sum(sizes) == len(catalogue)


def test_coverage_helpers(catalogue: Catalogue) -> None:
    assert catalogue.unknown_ids(["SEC-001", "SEC-999", "BOGUS"]) == ["BOGUS", "SEC-999"]
    uncovered = catalogue.uncovered(catalogue.ids[1:])
    assert [r.id for r in uncovered] == [catalogue.ids[0]]
    assert catalogue.uncovered(catalogue.ids) == ()


# -- the validator ---------------------------------------------------------------------------


_DROP = object()  # marks a field _entry() should leave out


def _entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "SEC-001",
        "area": "SEC",
        "statement": "The kiosk shall use TLS.",
        "severity": "critical",
        "source": "seed I.1 (2), p.2",
        "observed_at": ["centre-api"],
        "party": "kiosk",
    }
    for key, value in changes.items():
        if value is _DROP:
            del entry[key]
        else:
            entry[key] = value
    return entry


def _doc(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": 1,
        "areas": {"SEC": {"title": "Security", "description": "TLS and friends."}},
        "requirements": list(entries) or [_entry()],
    }


def _problems(data: Any) -> list[str]:
    with pytest.raises(CatalogueError) as info:
        parse_catalogue(data, origin="test.yaml")
    assert str(info.value).startswith("test.yaml: ")
    return list(info.value.problems)


def test_a_minimal_catalogue_parses() -> None:
    catalogue = parse_catalogue(_doc(_entry(), _entry(id="SEC-002", ja="SSL 通信")))
    assert catalogue.ids == ("SEC-001", "SEC-002")
    assert catalogue.get("SEC-002").ja == "SSL 通信"
    assert catalogue.get("SEC-001").sources == ("seed I.1 (2), p.2",)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_entry(severity="fatal"), "unknown severity 'fatal' (known: critical, major, minor)"),
        (_entry(area="NOPE", id="NOPE-001"), "unknown area 'NOPE' (known: SEC)"),
        (_entry(statement="   "), "empty statement"),
        (_entry(statement=None), "empty statement"),
        (_entry(statement="The kiosk shall\nuse TLS."), "statement must be one line"),
        (_entry(statement="The kiosk uses TLS."), "statement must say what 'shall' hold"),
        (_entry(id="SEC-1"), "malformed id 'SEC-1'"),
        (_entry(id="sec-001"), "malformed id 'sec-001'"),
        (_entry(id=17), "malformed id 17"),
        (_entry(id="OTHER-001"), "id prefix 'OTHER' differs from area 'SEC'"),
        (_entry(party="store-clerk"), "unknown party 'store-clerk'"),
        (_entry(observed_at=["card", "fax"]), "unknown interface 'fax' in observed_at"),
        (_entry(observed_at=[]), "observed_at must name at least one interface"),
        (_entry(observed_at=["card", "card"]), "interface 'card' listed twice"),
        (_entry(source="a blog post"), "names no seed section, notes file or DESIGN.md"),
        (_entry(source="seed IV.9, p.1"), "names no seed section"),
        (_entry(source="seed II.9, p.22"), "unknown seed section 'II.9'"),
        (_entry(source="seed II.7.1, p.5"), "page 5 is outside seed II.7.1 (pp.22-22)"),
        (_entry(source="notes/domain.md: Gossip"), "unknown heading 'Gossip' of notes/domain.md"),
        (_entry(source="notes/other.md: Scale"), "unknown document 'notes/other.md'"),
        (_entry(source=[]), "source must be a citation or a non-empty list"),
        (_entry(source=["seed I.1, p.1", ""]), "each source citation must be non-empty text"),
        (_entry(source=[{"seed": 1}]), "each source citation must be non-empty text"),
        (_entry(statement=["The kiosk shall"]), "statement must be text, not list"),
        (_entry(area=["SEC"]), "unknown area ['SEC']"),
        (_entry(severity=["critical"]), "unknown severity ['critical']"),
        (_entry(observed_at=[["card"]]), "unknown interface ['card'] in observed_at"),
        (_entry(ja=""), "ja, when present, must be non-empty text"),
        (_entry(basis="strict"), "unknown basis 'strict' (known: source, rig)"),
        (
            _entry(basis="rig", source="DESIGN.md: Principles"),
            "basis 'rig' is implied when only DESIGN.md is cited",
        ),
        (_entry(basis="rig"), "basis 'rig' also cites DESIGN.md"),
        (_entry(owner="me"), "unknown field 'owner'"),
        (_entry(severity=_DROP, party=_DROP), "missing field(s) severity, party"),
    ],
)
def test_validator_rejects_each_broken_entry(entry: dict[str, Any], message: str) -> None:
    problems = _problems(_doc(entry))
    assert len(problems) == 1, problems
    assert message in problems[0]
    assert problems[0].startswith("requirements[0]")


def test_basis_defaults_to_the_source_and_may_be_the_rigs() -> None:
    rig_own = _entry(
        id="SEC-002", basis="rig", source=["seed I.2 (2), p.3", "DESIGN.md: Interfaces"]
    )
    catalogue = parse_catalogue(_doc(_entry(), rig_own))
    assert catalogue.get("SEC-001").basis is Basis.SOURCE
    assert catalogue.get("SEC-002").basis is Basis.RIG


def test_the_shipped_catalogue_marks_the_rigs_own_strictness() -> None:
    """The requirements whose seed passage gives only the aim (docs/requirements.md, Basis)."""
    catalogue = load_catalogue()
    for rid in ("SEC-003", "OCSP-007", "SERVER-001", "SERVER-002", "PRIV-011", "CARD-015"):
        req = catalogue.get(rid)
        assert req.basis is Basis.RIG, rid
        assert any(s.startswith("DESIGN.md") for s in req.sources), rid
    # HOURS-008 rests on II.7.1 (the server refuses when the municipality does not serve),
    # not on II.7.3 (maintenance is announced)
    assert "seed II.7.1, p.22" in catalogue.get("HOURS-008").sources
    assert not any(s.startswith("seed II.7.3") for s in catalogue.get("HOURS-008").sources)
    assert (
        "通" in (catalogue.get("STAT-001").ja or "")
        or "copies (通)" in catalogue.get("STAT-001").statement
    )
    assert "sheets" not in catalogue.get("STAT-001").statement.replace("however many sheets", "")


def test_duplicate_ids_name_the_first_occurrence() -> None:
    problems = _problems(_doc(_entry(), _entry(id="SEC-002"), _entry()))
    assert problems == [
        "requirements[2] (SEC-001): duplicate id 'SEC-001' (first at requirements[0])"
    ]


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems(_doc(_entry(severity="fatal"), _entry(id="SEC-2", party="x")))
    assert len(problems) == 3
    assert any("requirements[0]" in p and "severity" in p for p in problems)
    assert any("requirements[1]" in p and "malformed id" in p for p in problems)
    assert any("requirements[1]" in p and "unknown party" in p for p in problems)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema=2), "schema must be 1, not 2"),
        (lambda d: d.update(extra=True), "unknown top-level key 'extra'"),
        (lambda d: d.update(areas={}), "areas must be a non-empty mapping"),
        (lambda d: d.update(requirements=[]), "requirements must be a non-empty list"),
        (lambda d: d.update(requirements=["SEC-001"]), "requirements[0]: must be a mapping"),
        (lambda d: d["areas"].update({"bad code": {}}), "malformed area code"),
        (lambda d: d["areas"]["SEC"].update(title=""), "areas['SEC']: empty or missing title"),
        (lambda d: d["areas"].update(OPS=[]), "areas['OPS']: must be a mapping"),
    ],
)
def test_validator_rejects_broken_structure(mutate: Any, message: str) -> None:
    data = copy.deepcopy(_doc())
    mutate(data)
    problems = _problems(data)
    assert any(message in p for p in problems), problems


def test_top_level_must_be_a_mapping() -> None:
    assert _problems(["not", "a", "mapping"]) == [
        "the top level must be a mapping (schema, areas, ...)"
    ]


def test_load_reports_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read the file"):
        load_catalogue(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("requirements: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="not valid YAML"):
        load_catalogue(broken)


def test_a_catalogue_file_round_trips(tmp_path: Path) -> None:
    file = tmp_path / "mini.yaml"
    file.write_text(yaml.safe_dump(_doc(_entry()), allow_unicode=True), encoding="utf-8")
    assert load_catalogue(file).ids == ("SEC-001",)


_ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
_FIELDS = ["id", "area", "statement", "severity", "source", "observed_at", "party", "ja", "x"]


@pytest.mark.fuzz
@settings(max_examples=examples(300))
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "schema": st.just(1) | _ANY,
            "areas": st.dictionaries(st.sampled_from(["SEC", "x y"]), _ANY, max_size=3) | _ANY,
            "requirements": st.lists(
                st.dictionaries(st.sampled_from(_FIELDS), _ANY, max_size=9) | _ANY, max_size=4
            )
            | _ANY,
            "extra": _ANY,
        },
    )
    | _ANY
)
def test_fuzz_arbitrary_data_gives_catalogue_error_only(data: Any) -> None:
    try:
        parse_catalogue(data)
    except CatalogueError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


@pytest.mark.fuzz
@settings(max_examples=examples(200))
@given(st.dictionaries(st.sampled_from(list(_entry())), st.text(max_size=12), max_size=7))
def test_fuzz_entry_fields_give_catalogue_error_only(changes: dict[str, str]) -> None:
    try:
        catalogue = parse_catalogue(_doc(_entry(**changes)))
    except CatalogueError as exc:
        assert exc.problems
    else:
        assert len(catalogue) == 1


# -- the docs and the command ----------------------------------------------------------------


def test_docs_table_matches_the_catalogue(catalogue: Catalogue) -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert area_table(catalogue) in text, (
        "regenerate with: .venv/bin/python -m rig.core.requirements"
    )


def test_command_prints_the_table_and_fails_on_a_broken_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "| `SEC` |" in out and "`SETTLE-001` (critical)" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(_doc(_entry(severity="fatal"))), encoding="utf-8")
    assert cli_main(["--file", str(broken)]) == 1
    assert "unknown severity 'fatal'" in capsys.readouterr().err

"""Who reads which statistics (STAT-004, STAT-005): municipalities, operators, the centre.

Rows are put into the centre's statistics file directly (set-up), then read over real TLS
with each kind of client certificate.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulators.centre.access import CENTRE_READER_CN, Reader, operator_of, reader_for
from emulators.centre.errors import AccessCode, CentreError
from emulators.centre.statistics import IssuanceRow
from rig.core.clock import JST
from rig.core.drivers.centre_client import CentreApiError, CentreClient
from rig.core.https import PROBLEM_CONTENT_TYPE
from rig.core.pki.jpki import JpkiAuthority
from rig.core.pki.tls import CertPair, TlsMaterial
from rig.harness.fuzz import examples

from .conftest import CITY, SMALL_TOWN, CentreWorld, HolderPool, make_world

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "api" / "centre.openapi.yaml"
NOV_24 = datetime(2026, 11, 24, 10, 0, tzinfo=JST)
NOV_25 = datetime(2026, 11, 25, 9, 0, tzinfo=JST)
# 16:30 UTC on the 24th is 01:30 on the 25th in Japan: counted on the 25th
LATE_UTC = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)

#: (municipality, store, operator, type, copies, fee per copy, when)
ROWS = [
    (CITY, "store-a1", "konbini-a", "resident_record", 2, 200, NOV_24),
    (CITY, "store-a1", "konbini-a", "resident_record_entries", 1, 200, NOV_24),
    (CITY, "store-b1", "konbini-b", "resident_record", 3, 200, NOV_24),
    (SMALL_TOWN, "store-a2", "konbini-a", "resident_record", 1, 150, NOV_25),
    (CITY, "store-a1", "konbini-a", "resident_record", 1, 200, LATE_UTC),
]


@pytest.fixture(scope="module")
def stats_world(
    tmp_path_factory: pytest.TempPathFactory,
    centre_tls: TlsMaterial,
    jpki_authority: JpkiAuthority,
    holders: HolderPool,
    registry_cache: Path,
) -> Iterator[CentreWorld]:
    world = make_world(
        tmp_path_factory.mktemp("stats-world"), centre_tls, jpki_authority, holders, registry_cache
    )
    for n, (code, store, operator, cert_type, copies, fee, when) in enumerate(ROWS):
        row = IssuanceRow(
            f"req-{n}", code, store, operator, "kiosk-0001", cert_type, None, copies, fee, when
        )
        assert world.centre.records.record_issuance(row)
    yield world
    world.stop()


def client(world: CentreWorld, pair: CertPair) -> CentreClient:
    made = CentreClient(world.url, client=pair, server_ca=world.tls.server_ca)
    world.clients.append(made)
    return made


def refused(call: Any, *args: Any) -> CentreApiError:
    with pytest.raises(CentreApiError) as caught:
        call(*args)
    return caught.value


# -- the certificates ----------------------------------------------------------------------
def test_an_operator_goes_into_the_ou_and_the_default_kiosk_certificate_is_unchanged(
    tmp_path: Path,
) -> None:
    tls = TlsMaterial(tmp_path, seed="ou-test")
    plain = tls.kiosk_client("kiosk-0001").load_cert()
    bound = tls.kiosk_client("kiosk-0001", operator="konbini-a").load_cert()
    assert plain.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME) == []
    assert operator_of(plain) is None
    assert operator_of(bound) == "konbini-a"
    assert plain.subject.rfc4514_string() == "CN=kiosk-0001,O=Konbini Rig Test,C=JP"
    assert plain.public_key() != bound.public_key()
    assert plain.serial_number != bound.serial_number
    # the same request again reads the same files
    assert tls.kiosk_client("kiosk-0001").load_cert() == plain
    with pytest.raises(ValueError, match="operator id"):
        tls.kiosk_client("kiosk-0001", operator="Konbini A")


def test_readers_by_certificate(centre_tls: TlsMaterial) -> None:
    def cert(pair: CertPair) -> Any:
        return pair.load_cert()

    centre = cert(centre_tls.lgpki_client())
    city = cert(centre_tls.lgpki_client(CITY))
    hq = cert(centre_tls.kiosk_client("hq", operator="konbini-a"))
    assert reader_for("lgpki", centre, CENTRE_READER_CN) == Reader("centre")
    assert reader_for("lgpki", city, CITY) == Reader("municipality", CITY)
    assert reader_for("kiosk", hq, "hq") == Reader("operator", "konbini-a")
    with pytest.raises(CentreError) as other_cn:
        reader_for("lgpki", city, "lgwan-terminal")
    assert other_cn.value.code.code == "client_not_allowed"
    with pytest.raises(CentreError) as no_ou:
        reader_for("kiosk", cert(centre_tls.kiosk_client()), "kiosk-0001")
    assert no_ou.value.code is AccessCode.OPERATOR_NOT_IDENTIFIED
    assert Reader("centre").municipality(None) is None
    assert Reader("municipality", CITY).municipality(None) == CITY


# -- settlement ------------------------------------------------------------------------------
def test_a_municipality_settles_only_its_own(stats_world: CentreWorld) -> None:
    city = client(stats_world, stats_world.tls.lgpki_client(CITY))
    own = city.settlement("2026-11")
    assert [r["municipality"] for r in own] == [CITY]
    assert own == city.settlement("2026-11", CITY)
    assert own[0]["copies"] == 2 + 1 + 3 + 1
    other = refused(city.settlement, "2026-11", SMALL_TOWN)
    assert (other.status, other.code) == (403, "statistics_other_municipality")
    assert other.problem["message_ja"]


def test_the_centre_settles_everyone(stats_world: CentreWorld) -> None:
    centre = client(stats_world, stats_world.tls.lgpki_client(CENTRE_READER_CN))
    assert [r["municipality"] for r in centre.settlement("2026-11")] == [CITY, SMALL_TOWN]
    assert [r["municipality"] for r in centre.settlement(None, SMALL_TOWN)] == [SMALL_TOWN]


def test_another_lgpki_name_reads_nothing(stats_world: CentreWorld) -> None:
    stranger = client(stats_world, stats_world.tls.lgpki_client("lgwan-terminal"))
    for call, args in (
        (stranger.settlement, ()),
        (stranger.municipal_statistics, (CITY,)),
        (stranger.operator_statistics, ("konbini-a",)),
    ):
        answer = refused(call, *args)
        assert (answer.status, answer.code) == (403, "client_not_allowed")


# -- per municipality, type and day ------------------------------------------------------
def test_municipal_statistics_per_type_and_day(stats_world: CentreWorld) -> None:
    city = client(stats_world, stats_world.tls.lgpki_client(CITY))
    report = city.municipal_statistics(CITY)
    counts = {(r["day"], r["cert_type"]): (r["issuances"], r["copies"]) for r in report.rows}
    assert counts == {
        ("2026-11-24", "resident_record"): (2, 5),
        ("2026-11-24", "resident_record_entries"): (1, 1),
        ("2026-11-25", "resident_record"): (1, 1),
    }
    assert report.totals == {"issuances": 4, "copies": 7, "fees": 1400}
    only_25 = city.municipal_statistics(CITY, date(2026, 11, 25), date(2026, 11, 25))
    assert (only_25.first, only_25.last, only_25.totals["copies"]) == (
        date(2026, 11, 25),
        date(2026, 11, 25),
        1,
    )
    assert city.municipal_statistics(CITY, date(2026, 12, 1)).rows == []


def test_municipal_statistics_of_another_are_refused(stats_world: CentreWorld) -> None:
    city = client(stats_world, stats_world.tls.lgpki_client(CITY))
    answer = refused(city.municipal_statistics, SMALL_TOWN)
    assert (answer.status, answer.code, answer.source) == (
        403,
        "statistics_other_municipality",
        "centre",
    )
    assert "rows" not in answer.problem
    centre = client(stats_world, stats_world.tls.lgpki_client())
    assert centre.municipal_statistics(SMALL_TOWN).totals["copies"] == 1


def test_a_kiosk_cannot_read_municipal_statistics(stats_world: CentreWorld) -> None:
    hq = client(stats_world, stats_world.tls.kiosk_client("hq-a", operator="konbini-a"))
    answer = refused(hq.municipal_statistics, CITY)
    assert (answer.status, answer.code) == (403, "client_not_allowed")


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        ("/municipalities/99101/statistics", {}, ["path", "municipality"]),
        ("/municipalities/99101x/statistics", {}, ["path", "municipality"]),
        (f"/municipalities/{CITY}/statistics", {"from": "2026-13-01"}, ["query", "from"]),
        (f"/municipalities/{CITY}/statistics", {"to": "24/11/2026"}, ["query", "to"]),
        (
            f"/municipalities/{CITY}/statistics",
            {"from": "2026-11-25", "to": "2026-11-24"},
            ["query", "to"],
        ),
        ("/operators/Konbini-A/statistics", {}, ["path", "operator"]),
        ("/operators/konbini-a/statistics", {"from": "２０２６-11-01"}, ["query", "from"]),
    ],
)
def test_bad_parameters_are_invalid_requests(
    stats_world: CentreWorld, path: str, params: dict[str, str], loc: list[str]
) -> None:
    centre = client(stats_world, stats_world.tls.lgpki_client())
    answer = centre.http.get(path, params=params)
    assert answer.status_code == 422, answer.text
    doc = answer.json()
    assert doc["code"] == "invalid_request"
    assert loc in [e["loc"] for e in doc["errors"]]


# -- per operator, store and day ------------------------------------------------------------
def test_an_operator_reads_its_own_stores(stats_world: CentreWorld) -> None:
    hq = client(stats_world, stats_world.tls.kiosk_client("hq-a", operator="konbini-a"))
    report = hq.operator_statistics("konbini-a")
    assert report.subject == "konbini-a"
    per_store_day = {(r["store_id"], r["day"]): r["copies"] for r in report.rows}
    assert per_store_day == {
        ("store-a1", "2026-11-24"): 3,
        ("store-a1", "2026-11-25"): 1,
        ("store-a2", "2026-11-25"): 1,
    }
    assert report.totals == {"issuances": 4, "copies": 5, "fees": 950}
    assert "store-b1" not in {r["store_id"] for r in report.rows}


@pytest.mark.parametrize(
    ("pair_of", "code"),
    [
        (lambda t: t.kiosk_client("hq-a", operator="konbini-a"), "statistics_other_operator"),
        (lambda t: t.kiosk_client(), "operator_not_identified"),
        (lambda t: t.lgpki_client(CITY), "client_not_allowed"),
    ],
    ids=["another-operator", "kiosk-without-ou", "municipality"],
)
def test_operator_b_is_not_visible(stats_world: CentreWorld, pair_of: Any, code: str) -> None:
    reader = client(stats_world, pair_of(stats_world.tls))
    answer = refused(reader.operator_statistics, "konbini-b")
    assert (answer.status, answer.code) == (403, code)


def test_the_centre_reads_any_operator(stats_world: CentreWorld) -> None:
    centre = client(stats_world, stats_world.tls.lgpki_client())
    report = centre.operator_statistics("konbini-b")
    assert [(r["store_id"], r["copies"]) for r in report.rows] == [("store-b1", 3)]


# -- the operator binding of sessions ------------------------------------------------------
def test_a_bound_kiosk_opens_sessions_for_its_operator_only(stats_world: CentreWorld) -> None:
    kiosk = client(stats_world, stats_world.tls.kiosk_client("kiosk-a01", operator="konbini-a"))
    answer = refused(kiosk.open_session, "kiosk-a01", "store-a1", "konbini-b")
    assert (answer.status, answer.code) == (403, "operator_certificate_mismatch")
    assert stats_world.centre.open_sessions() == 0
    session = kiosk.open_session("kiosk-a01", "store-a1", "konbini-a")
    kiosk.end_session(session.session_id)
    plain = client(stats_world, stats_world.tls.kiosk_client("kiosk-0009"))
    session = plain.open_session("kiosk-0009", "store-x", "konbini-b")  # unbound: as before
    plain.end_session(session.session_id)


# -- the contract --------------------------------------------------------------------------
def test_access_codes_and_answers_match_the_openapi_document(stats_world: CentreWorld) -> None:
    spec = yaml.safe_load(DOC_PATH.read_text("utf-8"))
    schemas = spec["components"]["schemas"]
    assert schemas["AccessCode"]["enum"] == [c.code for c in AccessCode]
    centre = client(stats_world, stats_world.tls.lgpki_client())
    for path, row_schema in (
        (f"/municipalities/{CITY}/statistics", "MunicipalStatisticsRow"),
        ("/operators/konbini-a/statistics", "OperatorStatisticsRow"),
    ):
        answer = centre.http.get(path).json()
        documented = spec["paths"][
            "/v1" + path.replace(CITY, "{municipality}").replace("konbini-a", "{operator}")
        ]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert set(answer) == set(documented["required"]) == set(documented["properties"])
        for row in answer["rows"]:
            assert set(row) == set(schemas[row_schema]["required"])
        assert set(answer["totals"]) == set(schemas["StatisticsTotals"]["required"])


# -- bad input never crashes and never leaks ------------------------------------------------
READERS = ["centre", CITY, "kiosk-ou", "kiosk"]


@pytest.fixture(scope="module")
def raw_readers(stats_world: CentreWorld) -> Iterator[dict[str, httpx.Client]]:
    tls = stats_world.tls
    pairs = {
        "centre": tls.lgpki_client(),
        CITY: tls.lgpki_client(CITY),
        "kiosk-ou": tls.kiosk_client("hq-a", operator="konbini-a"),
        "kiosk": tls.kiosk_client(),
    }
    readers = {name: client(stats_world, pair).http for name, pair in pairs.items()}
    yield readers


@pytest.mark.fuzz
@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    reader=st.sampled_from(READERS),
    route=st.sampled_from(["municipalities", "operators", "settlement"]),
    subject=st.sampled_from([CITY, SMALL_TOWN, "konbini-a", "konbini-b"])
    | st.text(st.characters(blacklist_categories=["Cs"]), max_size=12),
    query=st.dictionaries(
        st.sampled_from(["from", "to", "month", "municipality", "operator"]),
        st.text(max_size=12) | st.sampled_from(["2026-11-24", "2026-11", CITY]),
        max_size=3,
    ),
)
def test_fuzz_statistics_queries(
    stats_world: CentreWorld,
    raw_readers: dict[str, httpx.Client],
    reader: str,
    route: str,
    subject: str,
    query: dict[str, str],
) -> None:
    http = raw_readers[reader]
    quoted = quote(subject, safe="")
    path = "/settlement" if route == "settlement" else f"/{route}/{quoted}/statistics"
    try:
        answer = http.get(path, params=query)
    except httpx.InvalidURL:
        return  # the client will not send it: nothing reaches the centre
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == PROBLEM_CONTENT_TYPE
        return
    body = answer.json()
    # whatever was asked, a success shows only rows the certificate may see
    if reader == CITY:
        for row in body["rows"]:
            assert row.get("municipality", CITY) == CITY
        assert body.get("municipality") == CITY
    if reader == "kiosk-ou":
        assert body["operator"] == "konbini-a"
    assert reader != "kiosk"

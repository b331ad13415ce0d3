"""The annual operating burden by population tier (seed III.2.5 (1)), at every boundary."""

from __future__ import annotations

import pytest

from rig.core.burden import MunicipalityKind, annual_burden

from .conftest import CentreWorld

K = MunicipalityKind


@pytest.mark.parametrize(
    ("kind", "population", "yen"),
    [
        (K.DESIGNATED_CITY, 1_000_000, 10_000_000),  # 以上: the boundary is in the upper tier
        (K.DESIGNATED_CITY, 999_999, 8_000_000),
        (K.DESIGNATED_CITY, 3_700_000, 10_000_000),
        (K.DESIGNATED_CITY, 0, 8_000_000),
        (K.CITY, 150_000, 5_000_000),
        (K.CITY, 149_999, 3_000_000),
        (K.CITY, 1_500_000, 5_000_000),  # a large city that is not designated
        (K.WARD, 150_000, 5_000_000),
        (K.WARD, 149_999, 3_000_000),
        (K.TOWN, 150_000, 1_000_000),  # towns and villages pay one rate whatever their size
        (K.TOWN, 15_600, 1_000_000),
        (K.VILLAGE, 1, 1_000_000),
    ],
)
def test_tiers_and_boundaries(kind: MunicipalityKind, population: int, yen: int) -> None:
    assert annual_burden(kind, population) == yen
    assert annual_burden(kind.value, population) == yen


@pytest.mark.parametrize(
    ("kind", "population"),
    [("metropolis", 10), ("city", -1), ("city", 1.5), ("town", True), ("", 0)],
)
def test_bad_input_is_a_value_error(kind: str, population: object) -> None:
    with pytest.raises(ValueError):
        annual_burden(kind, population)  # type: ignore[arg-type]


def test_the_route_for_municipal_systems(shared: CentreWorld) -> None:
    municipal = shared.kiosk(pair=shared.tls.lgpki_client("991015"))
    answer = municipal.http.get("/burden", params={"kind": "city", "population": "150000"})
    assert answer.status_code == 200
    assert answer.json() == {"kind": "city", "population": 150000, "annual_burden_yen": 5_000_000}
    bad = municipal.http.get("/burden", params={"kind": "shire", "population": "-3"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_request"
    assert {tuple(e["loc"]) for e in bad.json()["errors"]} == {("query", "population")}
    worse = municipal.http.get("/burden", params={"kind": "shire", "population": "12"})
    assert [e["loc"] for e in worse.json()["errors"]] == [["query", "kind"]]
    kiosk = shared.kiosk()
    refused = kiosk.http.get("/burden", params={"kind": "city", "population": "1"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "client_not_allowed"

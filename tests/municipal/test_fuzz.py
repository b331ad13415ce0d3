"""Fuzz the municipal API: whatever arrives, the answer is a specific 4xx problem, never a 500."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.core.https import PROBLEM_CONTENT_TYPE

from .conftest import CITY, World

SCALE = max(1, int(os.environ.get("RIG_FUZZ_SCALE", "1")))
FUZZ = settings(
    max_examples=40 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FIELDS = [
    "cert_serial",
    "user_id",
    "challenge",
    "response",
    "pin",
    "type",
    "variant",
    "copies",
    "delivery",
    "options",
    "scope",
    "members",
    "include_honseki",
    "include_my_number",
    "include_head_relationship",
    "fiscal_year",
    "outcome",
    "copies_printed",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "resident_record",
            "koseki",
            "full",
            "household",
            "members",
            "url",
            "printed",
            "00ff",
            "1234",
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=12,
)
bodies = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6) | json_values


@pytest.fixture(scope="module")
def fuzz_client(shared_world: World) -> Iterator[tuple[httpx.Client, str]]:
    with shared_world.client() as client:
        sid = shared_world.session(client, CITY, shared_world.find(CITY, "household_of_3"))
        yield client, sid


def check(r: httpx.Response) -> None:
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.headers["content-type"] == PROBLEM_CONTENT_TYPE
        doc: dict[str, Any] = r.json()
        assert doc["code"] and doc["status"] == r.status_code


ROUTES = [
    "/municipalities/{code}/auth/jpki",
    "/municipalities/{code}/auth/card-ap/challenge",
    "/municipalities/{code}/auth/card-ap",
    "/municipalities/{code}/sessions/{sid}/pin",
    "/municipalities/{code}/sessions/{sid}/certificates",
    "/municipalities/{code}/documents/x/result",
]


@pytest.mark.fuzz
@FUZZ
@given(route=st.sampled_from(ROUTES), body=bodies)
def test_fuzz_json_bodies(fuzz_client: tuple[httpx.Client, str], route: str, body: Any) -> None:
    client, sid = fuzz_client
    check(client.post(route.format(code=CITY, sid=sid), json=body))


@pytest.mark.fuzz
@FUZZ
@given(
    route=st.sampled_from(ROUTES),
    raw=st.binary(max_size=300),
    ctype=st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded", ""]
    ),
)
def test_fuzz_raw_bodies(
    fuzz_client: tuple[httpx.Client, str], route: str, raw: bytes, ctype: str
) -> None:
    client, sid = fuzz_client
    headers = {"Content-Type": ctype} if ctype else {}
    check(client.post(route.format(code=CITY, sid=sid), content=raw, headers=headers))


@pytest.mark.fuzz
@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH"]),
    segments=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6),
    query=st.dictionaries(st.sampled_from(["from", "to", "x"]), st.text(max_size=12), max_size=3),
)
def test_fuzz_paths(
    fuzz_client: tuple[httpx.Client, str],
    method: str,
    segments: list[str],
    query: dict[str, str],
) -> None:
    client, _sid = fuzz_client
    path = "/municipalities/" + "/".join(quote(s, safe="") for s in segments)
    check(client.request(method, path, params=query))


@pytest.mark.fuzz
@FUZZ
@given(
    cert_type=st.sampled_from(
        [
            "resident_record",
            "resident_record_entries",
            "tax_certificate",
            "koseki",
            "fuhyo",
            "seal_registration",
        ]
    ),
    variant=st.none()
    | st.sampled_from(["income", "assessment", "payment", "full", "individual", "x"]),
    copies=st.integers(min_value=-2, max_value=12),
    options=st.fixed_dictionaries(
        {},
        optional={
            "scope": st.sampled_from(["household", "members", "self", "all"]),
            "members": st.lists(st.sampled_from(["991015-00001", "991015-00009", "x"]), max_size=3),
            "include_honseki": st.booleans(),
            "include_my_number": st.booleans(),
            "fiscal_year": st.integers(min_value=1980, max_value=2110),
        },
    ),
)
def test_fuzz_certificate_requests(
    fuzz_client: tuple[httpx.Client, str],
    cert_type: str,
    variant: str | None,
    copies: int,
    options: dict[str, Any],
) -> None:
    """Well-formed but arbitrary combinations: issued (201) or a specific refusal."""
    client, sid = fuzz_client
    body = {"type": cert_type, "variant": variant, "copies": copies, "options": options}
    r = client.post(f"/municipalities/{CITY}/sessions/{sid}/certificates", json=body)
    check(r)
    assert r.status_code in (201, 403, 422), r.text

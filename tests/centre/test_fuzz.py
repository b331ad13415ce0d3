"""Fuzz the kiosk API from its OpenAPI document (hypothesis): 0 server errors, no data changes.

For every operation with a request body, bodies are generated from the documented schema
(valid ones, ones with one defect, and arbitrary JSON), with valid or random path parameters
and Idempotency-Key headers. Every answer must be a success or a specific 4xx problem
document, never a 5xx. Afterwards no issuance was counted, no document is held, and the
session the fuzzer used is still where it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.core.https import PROBLEM_CONTENT_TYPE
from rig.harness.fuzz import examples

from .conftest import CITY, CentreWorld
from .openapi_strategies import near

SPEC: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "docs" / "api" / "centre.openapi.yaml").read_text(
        "utf-8"
    )
)
OPERATIONS = [
    (path, method, op["requestBody"]["content"]["application/json"]["schema"])
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if method != "parameters" and "requestBody" in op
]
FUZZ = settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
keys = (
    st.none()
    | st.from_regex(r"[A-Za-z0-9._:-]{8,20}", fullmatch=True)
    | st.from_regex(r"[!-~]{0,70}", fullmatch=True)
)


def check(r: httpx.Response) -> None:
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.headers["content-type"] == PROBLEM_CONTENT_TYPE, r.text
        doc: dict[str, Any] = r.json()
        assert doc["code"] and doc["status"] == r.status_code


@pytest.fixture(scope="module")
def target(shared: CentreWorld) -> Iterator[tuple[CentreWorld, httpx.Client, str, int]]:
    kiosk = shared.kiosk()
    sid = shared.open(kiosk).session_id
    before = shared.centre.records.count()
    yield shared, kiosk.http, sid, before
    kiosk.end_session(sid)


@pytest.mark.fuzz
@FUZZ
@given(data=st.data())
def test_fuzz_bodies_from_the_openapi_document(
    target: tuple[CentreWorld, httpx.Client, str, int], data: st.DataObject
) -> None:
    w, raw, sid, counted = target
    path, method, schema = data.draw(st.sampled_from(OPERATIONS))
    body = data.draw(near(SPEC, schema))
    session = data.draw(st.sampled_from([sid, sid, "no-such-session"]))
    url = (
        path.removeprefix("/v1")
        .replace("{session_id}", session)
        .replace("{request_id}", data.draw(st.sampled_from(["req-x", "0" * 16])))
    )
    key = data.draw(keys)
    headers = {"Idempotency-Key": key} if key is not None else {}
    check(raw.request(method.upper(), url, json=body, headers=headers))
    # no data changes: nothing counted, nothing held, the fuzzed session not authenticated
    assert w.centre.records.count() == counted
    assert w.centre.held_documents() == 0
    assert w.centre.service.sessions.get(sid, "kiosk-0001").state.value in (
        "open",
        "card_challenged",
    )


@pytest.mark.fuzz
@FUZZ
@given(
    body=st.binary(max_size=300),
    ctype=st.sampled_from(["application/json", "text/plain", "application/problem+json", ""]),
    path=st.sampled_from([p for p, _m, _s in OPERATIONS]),
)
def test_fuzz_raw_bytes(
    target: tuple[CentreWorld, httpx.Client, str, int], body: bytes, ctype: str, path: str
) -> None:
    w, raw, sid, counted = target
    url = path.removeprefix("/v1").replace("{session_id}", sid).replace("{request_id}", "r")
    headers = {"Content-Type": ctype} if ctype else {}
    check(raw.post(url, content=body, headers=headers))
    assert w.centre.records.count() == counted


@pytest.mark.fuzz
@settings(
    max_examples=examples(12),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzz_certificate_requests_on_an_authenticated_session(
    shared: CentreWorld, data: st.DataObject
) -> None:
    """Valid requests may issue (and are then cancelled); nothing may crash or be counted."""
    w = shared
    schema = SPEC["components"]["schemas"]["CertificateRequest"]
    body = data.draw(near(SPEC, schema))
    with w.kiosk() as kiosk:
        before = w.centre.records.count()
        creds = w.jpki_holder(3, CITY, w.find(CITY, "household_of_3", 1))
        sid = w.jpki_login(kiosk, creds).session_id
        key = data.draw(st.from_regex(r"[A-Za-z0-9]{8,16}", fullmatch=True))
        check(
            kiosk.http.post(
                f"/sessions/{sid}/requests", json=body, headers={"Idempotency-Key": key}
            )
        )
        kiosk.end_session(sid)
    assert w.centre.records.count() == before
    assert w.centre.held_documents() == 0

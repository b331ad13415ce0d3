"""Bad input at the kiosk API: each gets a specific problem document, never a 500."""

from __future__ import annotations

import json

import httpx
import pytest

from rig.core.https import PROBLEM_CONTENT_TYPE

from .conftest import CentreWorld


@pytest.fixture(scope="module")
def raw(shared: CentreWorld) -> httpx.Client:
    return shared.kiosk().http


@pytest.fixture(scope="module")
def sid(shared: CentreWorld) -> str:
    return shared.open(shared.kiosk()).session_id


def problem(r: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM_CONTENT_TYPE
    doc: dict[str, object] = r.json()
    assert doc["code"] == code and doc["status"] == status
    assert str(doc["type"]).endswith(code)
    return doc


def test_invalid_json(raw: httpx.Client) -> None:
    r = raw.post(
        "/sessions", content=b'{"kiosk_id": ', headers={"Content-Type": "application/json"}
    )
    problem(r, 400, "invalid_json")


def test_not_an_object(raw: httpx.Client) -> None:
    problem(raw.post("/sessions", json=[1, 2]), 400, "invalid_body")


def test_wrong_media_type(raw: httpx.Client) -> None:
    problem(
        raw.post("/sessions", content=b"kiosk", headers={"Content-Type": "text/plain"}),
        415,
        "unsupported_media_type",
    )


def test_wrong_types_list_fields_but_never_values(raw: httpx.Client) -> None:
    secret = "kiosk-0001-SECRET-VALUE"
    body = {"kiosk_id": 7, "store_id": secret * 3, "operator_id": True, "extra": 1}
    doc = problem(raw.post("/sessions", json=body), 422, "invalid_request")
    fields = {tuple(e["loc"]) for e in doc["errors"]}  # type: ignore[attr-defined]
    assert fields == {("kiosk_id",), ("store_id",), ("operator_id",), ("extra",)}
    assert secret not in json.dumps(doc)


def test_pin_must_be_four_digits_and_is_not_echoed(raw: httpx.Client, sid: str) -> None:
    doc = problem(raw.post(f"/sessions/{sid}/pin", json={"pin": "12345"}), 422, "invalid_request")
    assert "12345" not in json.dumps(doc)


def test_oversized_body(raw: httpx.Client) -> None:
    big = json.dumps({"kiosk_id": "x" * (200 * 1024)}).encode()
    problem(
        raw.post("/sessions", content=big, headers={"Content-Type": "application/json"}),
        413,
        "body_too_large",
    )


def test_unknown_session_and_request(raw: httpx.Client, sid: str) -> None:
    problem(raw.get("/sessions/no-such-session"), 404, "session_unknown")
    problem(raw.get(f"/sessions/{sid}/requests/nope"), 404, "request_unknown")
    problem(raw.get("/nowhere"), 404, "not_found")


def test_wrong_method(shared: CentreWorld) -> None:
    # own connection: rig.core.https leaves an unmatched route's body unread on a kept-alive
    # connection (reported to the lead), which would garble the next request
    with shared.kiosk() as own:
        r = own.http.put("/sessions", json={})
        assert problem(r, 405, "method_not_allowed") and r.headers["Allow"] == "POST"


def test_steps_out_of_order(shared: CentreWorld, raw: httpx.Client, sid: str) -> None:
    problem(raw.get(f"/sessions/{sid}/menu"), 409, "not_authenticated")
    problem(raw.post(f"/sessions/{sid}/pin", json={"pin": "1234"}), 409, "pin_not_expected")
    r = raw.post(
        f"/sessions/{sid}/auth/card-ap", json={"challenge": "0" * 32, "response": "00" * 16}
    )
    problem(r, 409, "challenge_not_requested")
    r = raw.post(
        f"/sessions/{sid}/requests",
        json={"type": "resident_record"},
        headers={"Idempotency-Key": "order-key-1"},
    )
    problem(r, 409, "not_authenticated")


def test_unreadable_certificate(shared: CentreWorld, raw: httpx.Client) -> None:
    session = shared.open(shared.kiosk())
    assert session.nonce is not None
    body = {"certificate": "bm90IGEgY2VydA==", "signature": "AAAA", "nonce": session.nonce.hex()}
    problem(
        raw.post(f"/sessions/{session.session_id}/auth/jpki", json=body), 422, "certificate_invalid"
    )
    fresh = shared.kiosk().new_nonce(session.session_id)
    body = {"certificate": "%%%%", "signature": "AAAA", "nonce": fresh.hex()}
    problem(
        raw.post(f"/sessions/{session.session_id}/auth/jpki", json=body), 422, "invalid_request"
    )


def test_payment_and_completion_rules(shared: CentreWorld) -> None:
    from .conftest import CITY

    w = shared
    kiosk = w.kiosk()
    sid = w.jpki_login(kiosk, w.jpki_holder(3, CITY, w.find(CITY, "eligible", 20))).session_id
    receipt = kiosk.request_certificate(sid, "resident_record", copies=2)
    raw = kiosk.http
    url = f"/sessions/{sid}/requests/{receipt.request_id}"
    key = {"Idempotency-Key": "rules-key-01"}
    r = raw.post(url + "/completion", json={"outcome": "printed", "copies_printed": 2}, headers=key)
    problem(r, 409, "document_not_downloaded")
    kiosk.download(sid, receipt.request_id)
    r = raw.post(url + "/completion", json={"outcome": "printed", "copies_printed": 2}, headers=key)
    problem(r, 409, "payment_required")
    r = raw.post(
        url + "/payment",
        json={"amount_yen": receipt.total_fee - 1},
        headers={"Idempotency-Key": "rules-pay-1"},
    )
    assert problem(r, 422, "payment_mismatch")["total_fee"] == receipt.total_fee
    kiosk.confirm_payment(sid, receipt.request_id, receipt.total_fee)
    r = raw.post(url + "/completion", json={"outcome": "printed", "copies_printed": 3}, headers=key)
    problem(r, 422, "invalid_request")
    before = w.centre.records.count()
    done = kiosk.complete(sid, receipt.request_id, "failed", 1)  # one of two copies printed
    assert done.state == "failed" and done.copies_printed == 1
    rows = w.centre.records.issuances()
    assert w.centre.records.count() == before + 1
    assert rows[-1]["copies"] == 1 and rows[-1]["fee_total"] == receipt.fee_per_copy
    problem(raw.get(url + "/document"), 409, "request_closed")
    kiosk.end_session(sid)

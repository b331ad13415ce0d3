"""The kiosk API under bad and out-of-order input, isolation between kiosks and requests,
retries, routing to the user's own municipality, refusals, and the centre's hours.

Verdicts: status and problem code at the kiosk API; the RID line on each PDF page; the
settlement a municipality reads; the municipal link's records (what reached the
municipality) in the evidence.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

import httpx
import pytest

from rig.core.clock import JST
from rig.core.drivers.centre_client import CentreApiError, CentreClient
from rig.harness.world import CITY, KIOSK_ID, KOSEKI_TOWN, SMALL_TOWN, World
from scenarios.support import KioskSide, resident_ids_in

pytestmark = pytest.mark.world(marks="layout")
S = "/sessions/{sid}"
KEY = {"Idempotency-Key": "input-test-key-0001"}


@dataclass
class Ctx:
    world: World
    kiosk: KioskSide
    sid: str
    rid: str = ""

    @property
    def http(self) -> httpx.Client:
        return self.kiosk.client.http


def _open(w: World, k: KioskSide, auth: bool) -> Ctx:
    if not auth:
        return Ctx(w, k, k.open().session_id)
    card = w.issue_card("mynumber-valid", w.resident())
    sid, _ = k.login_jpki(card)
    receipt = k.client.request_certificate(sid, "resident_record")
    return Ctx(w, k, sid, receipt.request_id)


def _nonce(c: Ctx) -> str:
    nonce = c.kiosk.client.session(c.sid).nonce
    assert nonce is not None
    return nonce.hex()


Case = tuple[str, bool, Callable[[Ctx], httpx.Response], int, str]
R = S + "/requests/{rid}"


def _p(c: Ctx, path: str) -> str:
    return path.format(sid=c.sid, rid=c.rid)


Call = Callable[[Ctx], httpx.Response]
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def post(path: str, body: Any = None, headers: dict[str, str] | None = None, **kw: Any) -> Call:
    """A POST to `path` ({sid}, {rid} filled in); `body` may be a function of the context."""

    def call(c: Ctx) -> httpx.Response:
        payload = body(c) if callable(body) else body
        return c.http.post(_p(c, path), json=payload, headers=headers, **kw)

    return call


def raw(path: str, content: bytes, headers: dict[str, str]) -> Call:
    return lambda c: c.http.post(_p(c, path), content=content, headers=headers)


def get(path: str) -> Call:
    return lambda c: c.http.get(_p(c, path))


def jpki_body(cert: bytes) -> Callable[[Ctx], dict[str, str]]:
    return lambda c: {
        "certificate": base64.b64encode(cert).decode() if cert else "***",
        "signature": "AA==",
        "nonce": _nonce(c),
    }


OPEN = {"kiosk_id": KIOSK_ID, "store_id": "s", "operator_id": "o"}
PRINTED = {"outcome": "printed", "copies_printed": 1}
CASES: list[Case] = [
    ("not-json", False, raw("/sessions", b"{kiosk", JSON), 400, "invalid_json"),
    ("not-an-object", False, post("/sessions", [1, 2]), 400, "invalid_body"),
    ("wrong-media-type", False, raw("/sessions", b"a=b", FORM), 415, "unsupported_media_type"),
    ("missing-fields", False, post("/sessions", {"kiosk_id": KIOSK_ID}), 422, "invalid_request"),
    ("extra-field", False, post("/sessions", {**OPEN, "x": 1}), 422, "invalid_request"),
    ("too-large", False, post("/sessions", {"kiosk_id": "k" * 70000}), 413, "body_too_large"),
    ("unknown-route", False, get("/nowhere"), 404, "not_found"),
    ("wrong-method", False, lambda c: c.http.put("/sessions"), 405, "method_not_allowed"),
    ("unknown-session", False, get("/sessions/no-such-session"), 404, "session_unknown"),
    ("menu-before-auth", False, get(S + "/menu"), 409, "not_authenticated"),
    ("request-before-auth", False, post(S + "/requests", {"type": "resident_record"}, KEY),
     409, "not_authenticated"),
    ("pin-without-card", False, post(S + "/pin", {"pin": "1234"}), 409, "pin_not_expected"),
    ("card-answer-unasked", False,
     post(S + "/auth/card-ap", {"challenge": "00" * 16, "response": "00" * 16}),
     409, "challenge_not_requested"),
    ("certificate-not-base64", False, post(S + "/auth/jpki", jpki_body(b"")),
     422, "invalid_request"),
    ("certificate-not-der", False, post(S + "/auth/jpki", jpki_body(b"junk")),
     422, "certificate_invalid"),
    ("no-idempotency-key", True, post(S + "/requests", {"type": "resident_record"}),
     428, "idempotency_key_required"),
    ("bad-idempotency-key", True,
     post(S + "/requests", {"type": "resident_record"}, {"Idempotency-Key": "bad key!"}),
     400, "idempotency_key_invalid"),
    ("unknown-type", True, post(S + "/requests", {"type": "passport"}, KEY),
     422, "invalid_request"),
    ("complete-before-download", True, post(R + "/completion", PRINTED, KEY),
     409, "document_not_downloaded"),
    ("pay-wrong-amount", True, post(R + "/payment", {"amount_yen": 1, "method": "cash"}, KEY),
     422, "payment_mismatch"),
    ("second-authentication", True, post(S + "/nonce"), 409, "already_authenticated"),
    ("unknown-request", True, get(S + "/requests/nope/document"), 404, "request_unknown"),
]  # fmt: skip


@pytest.mark.requirement("INPUT-005")
@pytest.mark.parametrize(
    ("name", "auth", "call", "status", "code"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_or_out_of_order_input_gets_a_4xx_problem(
    backend: World, name: str, auth: bool, call: Call, status: int, code: str
) -> None:  # fmt: skip
    kiosk = KioskSide.connect(backend)
    try:
        ctx = _open(backend, kiosk, auth)
        answer = call(ctx)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == code
        assert kiosk.client.health()["status"] == "ok"  # the connection and server live on
    finally:
        kiosk.close()


# -- ISO-007 / ISO-008 -----------------------------------------------------------------------------
@pytest.mark.requirement("ISO-007")
def test_each_kiosk_gets_only_its_own_document(backend: World) -> None:
    a_id, b_id = backend.resident(index=0), backend.resident(index=1)
    a_card = backend.issue_card("mynumber-valid", a_id)
    b_card = backend.issue_card("mynumber-card-ap", b_id)
    kiosk_a = KioskSide.connect(backend)
    kiosk_b = KioskSide.connect(backend, kiosk_id="kiosk-0002")
    try:
        a_sid, _ = kiosk_a.login_jpki(a_card)
        b_sid, _ = kiosk_b.login_card_ap(b_card)
        a_req = kiosk_a.client.request_certificate(a_sid, "resident_record")
        b_req = kiosk_b.client.request_certificate(b_sid, "resident_record")
        assert set(resident_ids_in(kiosk_a.client.download(a_sid, a_req.request_id))) == {a_id}
        assert set(resident_ids_in(kiosk_b.client.download(b_sid, b_req.request_id))) == {b_id}
        with pytest.raises(CentreApiError) as other_kiosk:
            kiosk_b.client.download(a_sid, a_req.request_id)
        assert (other_kiosk.value.status, other_kiosk.value.problem["code"]) == (
            404,
            "session_unknown",
        )
        with pytest.raises(CentreApiError) as other_request:
            kiosk_a.client.download(a_sid, b_req.request_id)
        assert other_request.value.problem["code"] == "request_unknown"
    finally:
        kiosk_a.close()
        kiosk_b.close()


@pytest.mark.requirement("ISO-008")
@pytest.mark.parametrize("retried", ["request", "payment", "completion"])
def test_a_retry_with_the_same_key_changes_nothing(backend: World, retried: str) -> None:
    card = backend.issue_card("mynumber-valid", backend.resident())
    kiosk = KioskSide.connect(backend)
    try:
        sid, _ = kiosk.login_jpki(card)
        c = kiosk.client
        first = c.request_certificate(sid, "resident_record", idempotency_key="retry-req-0001")
        if retried == "request":
            again = c.request_certificate(sid, "resident_record", idempotency_key="retry-req-0001")
            assert again.replayed and again.request_id == first.request_id
        c.download(sid, first.request_id)
        c.confirm_payment(sid, first.request_id, first.total_fee, idempotency_key="retry-pay-0001")
        if retried == "payment":
            again = c.confirm_payment(
                sid, first.request_id, first.total_fee, idempotency_key="retry-pay-0001"
            )
            assert again.replayed and again.paid_yen == first.total_fee
        c.complete(sid, first.request_id, "printed", 1, idempotency_key="retry-done-0001")
        if retried == "completion":
            again = c.complete(
                sid, first.request_id, "printed", 1, idempotency_key="retry-done-0001"
            )
            assert again.replayed and again.copies_printed == 1
        assert len(c.session(sid).requests) == 1
    finally:
        kiosk.close()
    with CentreClient(
        backend.endpoints["center_url"],
        client=backend.tls.lgpki_client(CITY),
        server_ca=backend.tls.server_ca,
    ) as municipal:
        [row] = municipal.settlement("2026-11", CITY)
    assert (row["issuances"], row["copies"], row["fees"]) == (1, 1, first.total_fee)


# -- CERT-008 / CARDAP-FLOW-008: the user's own municipality, from any store ------------------
@pytest.mark.requirement("CERT-008")
@pytest.mark.parametrize("code", [CITY, SMALL_TOWN, KOSEKI_TOWN])
def test_any_store_issues_the_users_own_municipalitys_certificate(
    backend: World, code: str
) -> None:
    resident = backend.resident(code)
    card = backend.issue_card("mynumber-valid", resident, code=code)
    kiosk = KioskSide.connect(backend, store_id="store-hokkaido-9001", operator_id="konbini-n")
    try:
        sid, result = kiosk.login_jpki(card)
        assert result.municipality_code == code
        done, pdf = kiosk.issue(sid, "resident_record")
    finally:
        kiosk.close()
    assert set(resident_ids_in(pdf)) == {resident}
    assert done.fee_per_copy > 0


@pytest.mark.requirement("CARDAP-FLOW-008")
@pytest.mark.parametrize("code", [CITY, SMALL_TOWN, KOSEKI_TOWN])
def test_card_ap_routes_to_the_municipality_on_the_card(backend: World, code: str) -> None:
    resident = backend.resident(code)
    card = backend.issue_card("mynumber-card-ap", resident)
    assert card.card_ap_info is not None and card.card_ap_info.municipality_code == code
    kiosk = KioskSide.connect(backend, store_id="store-okinawa-0003")
    try:
        sid, result = kiosk.login_card_ap(card)
        assert result.municipality_code == code
        _, pdf = kiosk.issue(sid, "resident_record")
    finally:
        kiosk.close()
    assert set(resident_ids_in(pdf)) == {resident}
    assert backend.evidence is not None
    reached = {r["municipality"] for r in backend.evidence.records("centre-lgwan")}
    assert reached == {code}


# -- CERT-029: specific refusals before any fee -----------------------------------------------
@pytest.mark.requirement("CERT-029")
@pytest.mark.parametrize(
    ("trait", "code"),
    [("dv_protected", "support_measure"), ("under_15", "under_15"), ("moved_out", None)],
)
def test_refusals_reach_the_kiosk_with_a_reason(
    backend: World, trait: str, code: str | None
) -> None:
    card = backend.issue_card("mynumber-valid", backend.resident(trait=trait))
    kiosk = KioskSide.connect(backend)
    try:
        with pytest.raises(CentreApiError) as refused:
            sid, _ = kiosk.login_jpki(card)
            kiosk.client.request_certificate(sid, "resident_record")
    finally:
        kiosk.close()
    problem = refused.value.problem
    assert 400 <= refused.value.status < 500
    assert problem["source"] == "municipality"
    assert problem.get("message_ja"), "the kiosk shows this to the user"
    if code is not None:
        assert problem["code"] == code
    else:
        assert problem["code"] not in ("", "municipality_error")
    with CentreClient(
        backend.endpoints["center_url"],
        client=backend.tls.lgpki_client(CITY),
        server_ca=backend.tls.server_ca,
    ) as municipal:
        assert municipal.settlement(None, CITY) == []


# -- HOURS-006 / HOURS-009 -----------------------------------------------------------------------
def widen_hours(world: World, code: str) -> None:
    """Set-up: the municipality serves 05:00–02:00, wider than the centre's 06:30–23:00."""
    from emulators.municipal.config import Hours

    configs = world.municipal.service.configs
    configs[code] = configs[code].model_copy(
        update={"service_hours": Hours(start=time(5, 0), end=time(2, 0))}
    )


def municipal_calls(world: World) -> int:
    assert world.evidence is not None
    return len(list(world.evidence.records("centre-lgwan")))


@pytest.mark.requirement("HOURS-006")
@pytest.mark.parametrize(
    ("when", "step"),
    [
        ("2026-11-25T23:00:00", "login"),
        ("2026-11-25T06:29:59", "login"),
        ("2026-11-24T23:00:00", "request"),
    ],
)
def test_nothing_is_forwarded_outside_the_centres_hours(
    backend: World, when: str, step: str
) -> None:
    widen_hours(backend, CITY)
    card = backend.issue_card("mynumber-card-ap", backend.resident())
    kiosk = KioskSide.connect(backend)
    try:
        if step == "request":
            backend.clock.set(datetime.fromisoformat("2026-11-24T22:59:00").replace(tzinfo=JST))
            sid, _ = kiosk.login_card_ap(card)
        before = municipal_calls(backend)
        backend.clock.set(datetime.fromisoformat(when).replace(tzinfo=JST))
        with pytest.raises(CentreApiError) as refused:
            if step == "login":
                kiosk.login_card_ap(card)
            else:
                kiosk.client.request_certificate(sid, "resident_record")
    finally:
        kiosk.close()
    assert (refused.value.status, refused.value.problem["code"]) == (503, "centre_closed")
    assert municipal_calls(backend) == before  # nothing reached the municipality


@pytest.mark.requirement("HOURS-009")
@pytest.mark.parametrize(
    ("utc", "open_"),
    [
        ("2026-11-24T21:29:59", False),  # 06:29:59 JST on the 25th (21:29 UTC is night in Japan)
        ("2026-11-24T21:30:00", True),  # 06:30 JST
        ("2026-11-25T13:59:59", True),  # 22:59:59 JST
        ("2026-11-25T14:00:00", False),  # 23:00 JST, though only 14:00 UTC
    ],
)
def test_hours_are_judged_in_japan_time_on_the_rig_clock(
    backend: World, utc: str, open_: bool
) -> None:
    backend.clock.set(datetime.fromisoformat(utc).replace(tzinfo=UTC))
    card = backend.issue_card("mynumber-valid", backend.resident())
    kiosk = KioskSide.connect(backend)
    try:
        health = kiosk.client.health()
        assert health["open"] is open_
        assert health["time"].endswith("+09:00")
        refusal: CentreApiError | None = None
        try:
            kiosk.login_jpki(card)
        except CentreApiError as exc:
            refusal = exc
    finally:
        kiosk.close()
    assert (refusal is None) is open_, refusal
    if not open_:
        assert refusal is not None and refusal.problem["code"] == "centre_closed"

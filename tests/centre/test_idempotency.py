"""A retried request with the same Idempotency-Key never issues or counts twice."""

from __future__ import annotations

import threading

import httpx
import pytest

from rig.core.drivers.centre_client import CentreApiError

from .conftest import CITY, CentreWorld


def _municipal_documents(w: CentreWorld) -> int:
    day = w.clock.now().date()
    return int(w.municipal.service.statistics(CITY, day, day)["totals"]["documents"])


def test_retried_request_issues_once(world: CentreWorld) -> None:
    w = world
    kiosk = w.kiosk()
    sid = w.jpki_login(kiosk, w.jpki_holder(0, CITY, w.find(CITY, "eligible", 13))).session_id
    first = kiosk.request_certificate(sid, "resident_record", idempotency_key="req-0000001")
    again = kiosk.request_certificate(sid, "resident_record", idempotency_key="req-0000001")
    assert again.request_id == first.request_id and again.replayed and not first.replayed
    assert _municipal_documents(w) == 1
    assert w.centre.held_documents() == 1
    with pytest.raises(CentreApiError) as exc:  # same key, another body
        kiosk.request_certificate(sid, "resident_record", copies=2, idempotency_key="req-0000001")
    assert exc.value.code == "idempotency_key_reused"
    rid = first.request_id
    kiosk.download(sid, rid)
    kiosk.confirm_payment(sid, rid, first.total_fee, idempotency_key="pay-0000001")
    assert kiosk.confirm_payment(sid, rid, first.total_fee, idempotency_key="pay-0000001").replayed
    with pytest.raises(CentreApiError) as exc:  # a second payment is not a retry
        kiosk.confirm_payment(sid, rid, first.total_fee, idempotency_key="pay-0000002")
    assert exc.value.code == "already_paid"
    kiosk.complete(sid, rid, "printed", 1, idempotency_key="done-0000001")
    assert kiosk.complete(sid, rid, "printed", 1, idempotency_key="done-0000001").replayed
    with pytest.raises(CentreApiError) as exc:
        kiosk.complete(sid, rid, "printed", 1, idempotency_key="done-0000002")
    assert exc.value.code == "request_closed"
    assert w.centre.records.count() == 1


def test_concurrent_retries_issue_once(world: CentreWorld) -> None:
    w = world
    kiosk = w.kiosk()
    sid = w.jpki_login(kiosk, w.jpki_holder(0, CITY, w.find(CITY, "eligible", 14))).session_id
    barrier = threading.Barrier(8)
    ids: list[str] = []

    def retry() -> None:
        with w.kiosk() as own:
            own.health()
            barrier.wait(30)
            ids.append(
                own.request_certificate(
                    sid, "resident_record", idempotency_key="same-key-1"
                ).request_id
            )

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(ids) == 8 and len(set(ids)) == 1
    assert _municipal_documents(w) == 1


def test_keys_are_required_and_checked(world: CentreWorld) -> None:
    w = world
    kiosk = w.kiosk()
    sid = w.jpki_login(kiosk, w.jpki_holder(0, CITY, w.find(CITY, "eligible", 15))).session_id
    raw: httpx.Client = kiosk.http
    r = raw.post(f"/sessions/{sid}/requests", json={"type": "resident_record"})
    assert (r.status_code, r.json()["code"]) == (428, "idempotency_key_required")
    r = raw.post(
        f"/sessions/{sid}/requests",
        json={"type": "resident_record"},
        headers={"Idempotency-Key": "short"},
    )
    assert (r.status_code, r.json()["code"]) == (400, "idempotency_key_invalid")
    assert _municipal_documents(w) == 0


def test_keys_are_per_kiosk(world: CentreWorld) -> None:
    """Another kiosk using the same key string is a different request (and another session)."""
    w = world
    a, b = w.kiosk("kiosk-0001"), w.kiosk("kiosk-0002")
    sid_a = w.jpki_login(a, w.jpki_holder(0, CITY, w.find(CITY, "eligible", 16))).session_id
    sid_b = w.jpki_login(
        b, w.jpki_holder(1, CITY, w.find(CITY, "eligible", 17)), "kiosk-0002"
    ).session_id
    ra = a.request_certificate(sid_a, "resident_record", idempotency_key="shared-key")
    rb = b.request_certificate(sid_b, "resident_record", idempotency_key="shared-key")
    assert ra.request_id != rb.request_id and not rb.replayed


def test_kept_answers_are_forgotten_after_their_ttl_of_rig_time() -> None:
    from datetime import timedelta

    from emulators.centre.idempotency import IdempotencyStore
    from rig.core.clock import RigClock
    from rig.core.https import Response

    clock = RigClock()
    store = IdempotencyStore(clock.now, ttl=timedelta(hours=1))
    calls: list[str] = []

    def answer(name: str) -> Response:
        calls.append(name)
        return Response(status=201, json={"n": name})

    store.run("kiosk-1", "key-aaaaaaaa", "p", lambda: answer("a"))
    clock.advance(1800)
    store.run("kiosk-1", "key-bbbbbbbb", "p", lambda: answer("b"))
    assert len(store) == 2
    clock.advance(1801)  # a's hour is over, b's is not
    replay = store.run("kiosk-1", "key-bbbbbbbb", "p", lambda: answer("b again"))
    assert replay.headers.get("Idempotent-Replayed") == "true" and len(store) == 1
    store.run("kiosk-1", "key-aaaaaaaa", "p", lambda: answer("a again"))
    assert calls == ["a", "b", "a again"]

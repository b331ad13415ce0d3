"""The municipal API end to end over real HTTPS with an LGPKI-style client certificate."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from emulators.municipal import card_ap
from emulators.municipal.reasons import RefusalCode
from rig.core.clock import JST
from rig.core.https import PROBLEM_CONTENT_TYPE
from rig.core.protocols.card_ap import compute_response

from .conftest import CITY, KOSEKI_TOWN, SMALL_TOWN, World, pdf_of

REFUSAL_CODES = {c.code for c in RefusalCode}


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM_CONTENT_TYPE
    doc: dict[str, Any] = r.json()
    assert doc["code"] == code, doc
    if code in REFUSAL_CODES:
        assert doc["message_ja"]
    return doc


def cert(client: httpx.Client, code: str, sid: str, **body: Any) -> httpx.Response:
    return client.post(f"/municipalities/{code}/sessions/{sid}/certificates", json=body)


# -- the happy paths -----------------------------------------------------------------------------


def test_health_and_municipalities(shared_world: World) -> None:
    with shared_world.client() as c:
        assert c.get("/health").json()["status"] == "ok"
        codes = [m["code"] for m in c.get("/municipalities").json()["municipalities"]]
    assert codes == [CITY, "992046", SMALL_TOWN, KOSEKI_TOWN, "993069"]
    assert shared_world.urls[CITY].endswith(f"/v1/municipalities/{CITY}")


def test_jpki_flow_menu_and_certificate(shared_world: World) -> None:
    w = shared_world
    rid = w.find(CITY, "household_of_4")
    with w.client() as c:
        r = w.jpki_login(c, CITY, rid)
        assert r.status_code == 201
        session = r.json()
        assert session["resident"] is True and session["pin_required"] is False
        sid = session["session_id"]
        menu = c.get(f"/municipalities/{CITY}/sessions/{sid}/menu").json()
        assert menu["household"][0]["member_id"] == rid
        assert len(menu["household"]) == 4
        fees = {(i["type"], i["variant"]): i["fee"] for i in menu["certificates"]}
        assert fees[("resident_record", None)] == 200
        assert fees[("koseki", "full")] == 350
        papers = {i["type"]: i["paper"] for i in menu["certificates"]}
        assert papers["seal_registration"] == "A5"
        r = cert(c, CITY, sid, type="resident_record", copies=2)
        assert r.status_code == 201, r.text
        doc = r.json()
    assert doc["resident_id"] == rid
    assert doc["copies"] == 2 and doc["total_fee"] == 400
    assert doc["page_resident_ids"] == [rid] * doc["pages"]
    assert pdf_of(doc).startswith(b"%PDF-")


def test_card_ap_flow_with_pin(shared_world: World) -> None:
    w = shared_world
    rid = w.find(SMALL_TOWN, "eligible", 2)
    info = w.server.registry.register_card_ap_user("CARDFLOW00000001", rid, "2580")
    assert info.municipality_code == SMALL_TOWN
    with w.client() as c:
        r = w.card_ap_login(c, SMALL_TOWN, info)
        assert r.status_code == 201, r.text
        sid = r.json()["session_id"]
        assert r.json()["pin_required"] is True
        menu = c.get(f"/municipalities/{SMALL_TOWN}/sessions/{sid}/menu")
        assert menu.status_code == 200 and menu.json()["pin_required"] is True
        problem(cert(c, SMALL_TOWN, sid, type="resident_record"), 401, "pin_required")
        pin = c.post(f"/municipalities/{SMALL_TOWN}/sessions/{sid}/pin", json={"pin": "2580"})
        assert pin.json() == {"verified": True}
        r = cert(c, SMALL_TOWN, sid, type="resident_record")
        assert r.status_code == 201 and r.json()["fee_per_copy"] == 150


def test_card_ap_wrong_response_and_replayed_challenge(shared_world: World) -> None:
    w = shared_world
    rid = w.find(SMALL_TOWN, "eligible", 4)
    info = w.server.registry.register_card_ap_user(
        "CARDBAD000000001", rid, "1470", card_kind="JUKI"
    )
    base = f"/municipalities/{SMALL_TOWN}/auth/card-ap"
    with w.client() as c:
        # a card whose key came from another world (another master key)
        problem(
            w.card_ap_login(c, SMALL_TOWN, info, key=card_ap.card_key("other-world", info)),
            401,
            "card_response_invalid",
        )
        challenge = c.post(base + "/challenge", json={"user_id": info.user_id}).json()["challenge"]
        right = compute_response(
            card_ap.card_key(w.server.seed, info), info, bytes.fromhex(challenge)
        )
        body = {"user_id": info.user_id, "challenge": challenge, "response": right.hex()}
        assert c.post(base, json=body).status_code == 201
        problem(c.post(base, json=body), 401, "challenge_unknown")  # used once already
        short = {
            **body,
            "challenge": c.post(base + "/challenge", json={"user_id": info.user_id}).json()[
                "challenge"
            ],
            "response": right.hex()[:30],
        }
        problem(c.post(base, json=short), 401, "card_response_invalid")
        problem(
            c.post(base + "/challenge", json={"user_id": "NOBODY0000000000"}),
            401,
            "card_ap_user_unknown",
        )
        # the card belongs to its own municipality
        problem(
            c.post(
                f"/municipalities/{CITY}/auth/card-ap/challenge", json={"user_id": info.user_id}
            ),
            401,
            "card_ap_user_unknown",
        )


def test_card_ap_pin_lock_over_http(shared_world: World) -> None:
    w = shared_world
    rid = w.find(SMALL_TOWN, "eligible", 5)
    info = w.server.registry.register_card_ap_user("CARDLOCK00000001", rid, "9630")
    with w.client() as c:
        sid = w.card_ap_login(c, SMALL_TOWN, info).json()["session_id"]
        url = f"/municipalities/{SMALL_TOWN}/sessions/{sid}/pin"
        assert problem(c.post(url, json={"pin": "0000"}), 401, "pin_incorrect")["tries_left"] == 2
        assert problem(c.post(url, json={"pin": "0000"}), 401, "pin_incorrect")["tries_left"] == 1
        assert problem(c.post(url, json={"pin": "0000"}), 423, "pin_locked")["tries_left"] == 0
        problem(c.post(url, json={"pin": "9630"}), 423, "pin_locked")


@pytest.mark.parametrize(
    ("cert_type", "variant", "paper"),
    [
        ("resident_record", None, "A4"),
        ("resident_record_entries", None, "A5"),
        ("tax_certificate", "income", "A4"),
        ("tax_certificate", "assessment", "A4"),
        ("tax_certificate", "payment", "A4"),
        ("koseki", "full", "A4"),
        ("koseki", "individual", "A4"),
        ("fuhyo", None, "A4"),
    ],
)
def test_every_type_is_issued(
    shared_world: World, cert_type: str, variant: str | None, paper: str
) -> None:
    w = shared_world
    reg = w.server.registry
    taxed = set(reg.find_residents(CITY, "tax_record"))
    rid = next(r for r in reg.find_residents(CITY, "koseki_here") if r in taxed)
    with w.client() as c:
        sid = w.session(c, CITY, rid)
        r = cert(c, CITY, sid, type=cert_type, variant=variant)
    assert r.status_code == 201, r.text
    assert r.json()["paper"] == paper
    assert r.json()["resident_id"] == rid


def test_seal_certificate(shared_world: World) -> None:
    w = shared_world
    with w.client() as c:
        sid = w.session(c, CITY, w.find(CITY, "seal_registered"))
        r = cert(c, CITY, sid, type="seal_registration")
        assert r.status_code == 201 and r.json()["paper"] == "A5"
        sid = w.session(c, CITY, w.find(CITY, "seal_cancelled"))
        problem(cert(c, CITY, sid, type="seal_registration"), 403, "seal_cancelled")
        sid = w.session(c, CITY, w.find(CITY, "no_seal"))
        problem(cert(c, CITY, sid, type="seal_registration"), 403, "seal_not_registered")


def test_chosen_members(shared_world: World) -> None:
    w = shared_world
    rid = w.find(CITY, "household_of_8")
    with w.client() as c:
        sid = w.session(c, CITY, rid)
        members = [
            m["member_id"]
            for m in c.get(f"/municipalities/{CITY}/sessions/{sid}/menu").json()["household"]
        ]
        whole = cert(c, CITY, sid, type="resident_record").json()
        some = cert(
            c,
            CITY,
            sid,
            type="resident_record",
            options={"scope": "members", "members": members[:2]},
        ).json()
        assert whole["pages"] > some["pages"] == 1
        stranger = w.find(CITY, "household_of_1")
        r = cert(
            c,
            CITY,
            sid,
            type="resident_record",
            options={"scope": "members", "members": [stranger]},
        )
        problem(r, 422, "member_not_in_household")


def test_download_url_is_single_use(shared_world: World) -> None:
    w = shared_world
    with w.client() as c:
        sid = w.session(c, CITY, w.find(CITY, "eligible", 7))
        doc = cert(c, CITY, sid, type="resident_record", delivery="url").json()
        assert "pdf_base64" not in doc
        url = doc["download_url"].removeprefix("/v1")
        r = c.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        assert r.content.startswith(b"%PDF-")
        problem(c.get(url), 404, "document_not_found")


def test_session_end_and_unknown_session(shared_world: World) -> None:
    w = shared_world
    with w.client() as c:
        sid = w.session(c, CITY, w.find(CITY, "eligible", 8))
        assert c.delete(f"/municipalities/{CITY}/sessions/{sid}").status_code == 204
        problem(c.get(f"/municipalities/{CITY}/sessions/{sid}/menu"), 404, "session_unknown")
        sid = w.session(c, CITY, w.find(CITY, "eligible", 8))
        # a session belongs to the municipality that opened it
        problem(c.get(f"/municipalities/{SMALL_TOWN}/sessions/{sid}/menu"), 404, "session_unknown")


# -- refusals for the resident -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trait", "status", "code"),
    [
        ("dv_protected", 403, "support_measure"),
        ("deceased", 403, "resident_deceased"),
        ("under_15", 403, "under_15"),
        ("moved_out", 403, "not_a_resident"),
    ],
)
def test_refused_at_authentication(shared_world: World, trait: str, status: int, code: str) -> None:
    w = shared_world
    with w.client() as c:
        problem(w.jpki_login(c, CITY, w.find(CITY, trait)), status, code)


@pytest.mark.parametrize(
    ("trait", "code"),
    [
        ("non_jis_name", "name_outside_charset"),
        ("household_moving_out", "household_moving_out"),
        ("moving_out", "household_moving_out"),
        ("moved_in_today", "moved_in_today"),
    ],
)
def test_refused_resident_record(shared_world: World, trait: str, code: str) -> None:
    w = shared_world
    with w.client() as c:
        sid = w.session(c, CITY, w.find(CITY, trait))
        problem(cert(c, CITY, sid, type="resident_record"), 403, code)
        menu = c.get(f"/municipalities/{CITY}/sessions/{sid}/menu").json()
        entry = next(i for i in menu["certificates"] if i["type"] == "resident_record")
        assert entry["available"] is False and entry["refusal"]["code"] == code


def test_unknown_jpki_user(shared_world: World) -> None:
    with shared_world.client() as c:
        r = c.post(f"/municipalities/{CITY}/auth/jpki", json={"cert_serial": "DEADBEEF0001"})
        problem(r, 401, "user_not_registered")
        r = c.post(f"/municipalities/{CITY}/auth/jpki", json={"cert_serial": "not hex"})
        problem(r, 401, "user_not_registered")


def test_tax_record_missing(shared_world: World) -> None:
    w = shared_world
    with w.client() as c:
        sid = w.session(c, CITY, w.find(CITY, "no_tax_record"))
        problem(
            cert(c, CITY, sid, type="tax_certificate", variant="income"),
            403,
            "tax_record_not_found",
        )
        sid = w.session(c, CITY, w.find(CITY, "tax_record"))
        r = cert(
            c, CITY, sid, type="tax_certificate", variant="income", options={"fiscal_year": 2001}
        )
        problem(r, 403, "tax_record_not_found")


def test_type_not_offered_and_copies_limit(shared_world: World) -> None:
    w = shared_world
    with w.client() as c:
        sid = w.session(c, SMALL_TOWN, w.find(SMALL_TOWN, "tax_record"))
        r = cert(c, SMALL_TOWN, sid, type="tax_certificate", variant="payment")
        problem(r, 403, "type_not_offered")
        doc = problem(
            cert(c, SMALL_TOWN, sid, type="resident_record", copies=6), 422, "invalid_request"
        )
        assert doc["errors"][0]["loc"] == ["copies"]
        doc = problem(
            cert(c, SMALL_TOWN, sid, type="koseki", variant="half"), 422, "invalid_request"
        )
        assert doc["errors"][0]["loc"] == ["variant"]


# -- 本籍 elsewhere ----------------------------------------------------------------------------------


def test_honseki_elsewhere(shared_world: World) -> None:
    w = shared_world
    reg = w.server.registry
    rid = w.find(CITY, "honseki_elsewhere_registered")
    honseki = reg.resident(rid).honseki_code
    assert honseki is not None and honseki != CITY
    with w.client() as c:
        # at home: no 戸籍 here
        sid = w.session(c, CITY, rid)
        problem(cert(c, CITY, sid, type="koseki", variant="full"), 403, "koseki_not_found")
        # at the 本籍地: 戸籍 and 附票 only
        r = w.jpki_login(c, honseki, rid)
        assert r.status_code == 201 and r.json()["resident"] is False
        sid = r.json()["session_id"]
        assert cert(c, honseki, sid, type="koseki", variant="full").status_code == 201
        assert cert(c, honseki, sid, type="fuhyo").status_code == 201
        problem(cert(c, honseki, sid, type="resident_record"), 403, "not_a_resident")
        menu = c.get(f"/municipalities/{honseki}/sessions/{sid}/menu").json()
        assert menu["household"] == []
        problem(
            w.jpki_login(c, honseki, w.find(CITY, "honseki_elsewhere_pending")),
            403,
            "koseki_registration_pending",
        )
        problem(
            w.jpki_login(c, honseki, w.find(CITY, "honseki_elsewhere_unregistered")),
            403,
            "koseki_not_registered",
        )
        problem(
            w.jpki_login(c, honseki, w.find(CITY, "honseki_outside_rig")), 403, "not_a_resident"
        )


# -- time ------------------------------------------------------------------------------------------


def test_hours_follow_the_rig_clock(world: World) -> None:
    w = world
    rid = w.find(KOSEKI_TOWN, "koseki_here")
    with w.client() as c:
        w.clock.set(datetime(2026, 11, 24, 17, 0, tzinfo=JST))
        sid = w.session(c, KOSEKI_TOWN, rid)
        doc = problem(
            cert(c, KOSEKI_TOWN, sid, type="koseki", variant="full"), 503, "koseki_outside_hours"
        )
        assert doc["detail"]
        assert cert(c, KOSEKI_TOWN, sid, type="resident_record").status_code == 201
        w.clock.set(datetime(2026, 11, 24, 22, 59, 59, tzinfo=JST))
        sid = w.session(c, KOSEKI_TOWN, rid)
        w.clock.advance(1)
        r = cert(c, KOSEKI_TOWN, sid, type="resident_record")
        problem(r, 503, "outside_service_hours")
        assert r.headers["retry-after"]
        problem(w.jpki_login(c, KOSEKI_TOWN, rid), 503, "outside_service_hours")
        w.clock.set(datetime(2026, 12, 29, 10, tzinfo=JST))
        problem(w.jpki_login(c, CITY, w.find(CITY, "eligible")), 503, "year_end_closure")


def test_session_expires(world: World) -> None:
    w = world
    with w.client() as c:
        sid = w.session(c, CITY, w.find(CITY, "eligible"))
        w.clock.advance(timedelta(minutes=15))
        problem(c.get(f"/municipalities/{CITY}/sessions/{sid}/menu"), 401, "session_expired")


# -- statistics and results --------------------------------------------------------------------------


def test_statistics_count_what_was_issued(world: World) -> None:
    w = world
    with w.client() as c:
        sid = w.session(c, CITY, w.find(CITY, "household_of_8"))
        a = cert(c, CITY, sid, type="resident_record", copies=3).json()
        b = cert(c, CITY, sid, type="koseki", variant="full").json()
        r = c.post(
            f"/municipalities/{CITY}/documents/{a['document_id']}/result",
            json={"outcome": "printed", "copies_printed": 3},
        )
        assert r.status_code == 200
        r = c.post(
            f"/municipalities/{CITY}/documents/{b['document_id']}/result",
            json={"outcome": "printed", "copies_printed": 2},
        )
        problem(r, 422, "invalid_request")
        stats = c.get(f"/municipalities/{CITY}/statistics", params={"from": "2026-11-01"}).json()
        empty = c.get(f"/municipalities/{SMALL_TOWN}/statistics").json()
        problem(
            c.get(f"/municipalities/{CITY}/statistics", params={"from": "11/1"}),
            422,
            "invalid_request",
        )
        problem(
            c.post(
                f"/municipalities/{CITY}/documents/nope/result",
                json={"outcome": "cancelled", "copies_printed": 0},
            ),
            404,
            "document_not_found",
        )
    totals = stats["totals"]
    assert totals["documents"] == 2
    assert totals["copies"] == 4
    assert totals["pages"] == 3 * a["pages"] + b["pages"]
    assert totals["fees"] == 3 * 200 + 350
    assert totals["printed_copies"] == 3
    assert empty["totals"]["documents"] == 0
    assert w.server.evidence is not None
    issued = [r for r in w.server.evidence.records("municipal") if r["event"] == "issued"]
    assert [r["document_id"] for r in issued] == [a["document_id"], b["document_id"]]
    household = w.server.registry.resident(a["resident_id"]).household_size
    assert len(issued[0]["subjects"]) == household and a["resident_id"] in issued[0]["subjects"]
    text = (w.server.evidence.folder / "municipal.jsonl").read_text("utf-8")
    assert "my_number" not in text and "cert_serial" not in text


# -- transport-level refusals -------------------------------------------------------------------------


def test_unknown_municipality(shared_world: World) -> None:
    with shared_world.client() as c:
        r = c.post("/municipalities/123456/auth/jpki", json={"cert_serial": "01"})
        problem(r, 404, "municipality_unknown")


@pytest.mark.parametrize("which", ["kiosk", "expired", "self_signed", "none"])
def test_other_client_cas_are_refused(shared_world: World, which: str) -> None:
    tls = shared_world.tls
    pair = {
        "kiosk": tls.kiosk_client(),
        "expired": tls.expired_client("lgpki"),
        "self_signed": tls.self_signed_client(),
        "none": None,
    }[which]
    errors = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)
    with pytest.raises(errors), shared_world.client(client=pair) as c:
        c.get("/health")


def test_faults(world: World) -> None:
    w = world
    with w.client() as c:
        w.server.faults.fail_next = 1
        problem(w.jpki_login(c, CITY, w.find(CITY, "eligible")), 503, "service_unavailable")
        assert w.jpki_login(c, CITY, w.find(CITY, "eligible")).status_code == 201
        w.server.faults.down = True
        problem(w.jpki_login(c, CITY, w.find(CITY, "eligible")), 503, "service_unavailable")
        assert c.get("/health").status_code == 200  # the transport itself is up
        w.server.faults.clear()
        assert w.jpki_login(c, CITY, w.find(CITY, "eligible")).status_code == 201


def test_card_ap_with_the_virtual_card(shared_world: World) -> None:
    """The emulated card's card AP answers the server's challenge (APDUs, no shortcuts)."""
    from emulators.card.card_ap import CardApApplication
    from emulators.card.chip import VirtualCard
    from rig.core.protocols.card_ap import AID_CARD_AP, internal_authenticate, select_aid

    w = shared_world
    info = w.server.registry.register_card_ap_user(
        "VCARD00000000001", w.find(SMALL_TOWN, "eligible", 6), "3690"
    )
    chip = VirtualCard([CardApApplication.build(info, card_ap.card_key(w.server.seed, info))])
    chip.powerUp()
    assert chip.execute(select_aid(AID_CARD_AP))[-2:] == b"\x90\x00"
    base = f"/municipalities/{SMALL_TOWN}/auth/card-ap"
    with w.client() as c:
        challenge = c.post(base + "/challenge", json={"user_id": info.user_id}).json()["challenge"]
        answer = chip.execute(internal_authenticate(bytes.fromhex(challenge)))
        assert answer[-2:] == b"\x90\x00"
        body = {"user_id": info.user_id, "challenge": challenge, "response": answer[:-2].hex()}
        r = c.post(base, json=body)
        assert r.status_code == 201, r.text
        pin = c.post(
            f"/municipalities/{SMALL_TOWN}/sessions/{r.json()['session_id']}/pin",
            json={"pin": "3690"},
        )
        assert pin.status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"content": b"{", "headers": {"Content-Type": "application/json"}}, 400, "invalid_json"),
        ({"json": ["resident_record"]}, 400, "invalid_body"),
        ({"json": {"type": "resident_record", "copies": "1"}}, 422, "invalid_request"),
        ({"json": {"type": "resident_record", "copies": True}}, 422, "invalid_request"),
        ({"json": {"type": "passport"}}, 422, "invalid_request"),
        ({"json": {"type": "resident_record", "colour": "red"}}, 422, "invalid_request"),
        ({"json": {"type": "resident_record", "copies": 0}}, 422, "invalid_request"),
        (
            {"json": {"type": "resident_record", "options": {"include_my_number": "yes"}}},
            422,
            "invalid_request",
        ),
        ({"json": {"type": "resident_record", "pad": "x" * 70_000}}, 413, "body_too_large"),
        (
            {
                "content": b"type=resident_record",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            415,
            "unsupported_media_type",
        ),
    ],
)
def test_bad_certificate_requests(
    shared_world: World, kwargs: dict[str, Any], status: int, code: str
) -> None:
    w = shared_world
    with w.client() as c:
        sid = w.session(c, CITY, w.find(CITY, "eligible", 9))
        r = c.post(f"/municipalities/{CITY}/sessions/{sid}/certificates", **kwargs)
    doc = problem(r, status, code)
    if code == "invalid_request":
        assert doc["errors"] and all("input" not in e for e in doc["errors"])

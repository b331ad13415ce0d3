"""Certificates from the issuance server as the centre and the kiosks receive them (seed I.1).

Every certificate type and option of the municipal-server plan (事前評価ツール role): the rig
plays the kiosk (`KioskSide`) through the rig's centre, and judges the issuance server only by
what reaches the kiosk side: the receipt, the refusal codes and the text of each PDF page
(pypdf), with its machine-readable `RID:… DOC:… MUNI:… PAGE:x/y` line. The centre runs its
`layout` stage so the municipality's text stays extractable.

Also here: the end-to-end checks a municipality runs before service starts (TEST-001,
TEST-002) and the statistics it reads back from the centre (TEST-004).
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from pypdf import PdfReader

from rig.core.drivers.centre_client import CentreApiError, CentreClient
from rig.core.https import https_client
from rig.core.municipal_test_data import NotInTestData
from rig.core.protocols.centre import COMMISSION_PER_COPY_YEN, CertTypeName
from rig.harness.municipal_registry import Counter
from rig.harness.world import CITY, KOSEKI_TOWN, SMALL_TOWN, World
from scenarios.support import KioskSide

pytestmark = [pytest.mark.municipal_server, pytest.mark.world(marks="layout")]

MUNICIPALITIES = (CITY, SMALL_TOWN, KOSEKI_TOWN)
LINE = re.compile(r"RID:(\S+) DOC:(\S+) MUNI:(\d{6}) PAGE:(\d+)/(\d+)")
#: an RGB colour operator (stroke or fill) in a page's content stream
COLOUR = re.compile(rb"([\d.]+) ([\d.]+) ([\d.]+) (?:RG|rg)")


@pytest.fixture
def kiosks(backend: World) -> Iterator[list[KioskSide]]:
    opened: list[KioskSide] = []
    yield opened
    for kiosk in opened:
        kiosk.close()


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def login(
    world: World,
    kiosks: list[KioskSide],
    resident_id: str,
    *,
    method: str = "jpki",
    code: str = CITY,
    kiosk_id: str = "kiosk-0001",
    store_id: str = "store-0001",
) -> tuple[KioskSide, str]:
    """A card for the resident at a kiosk, authenticated with `method` (jpki | card_ap)."""
    kiosk = KioskSide.connect(world, kiosk_id, store_id=store_id)
    kiosks.append(kiosk)
    if method == "jpki":
        sid, _ = kiosk.login_jpki(world.issue_card("mynumber-valid", resident_id, code=code))
    else:
        sid, _ = kiosk.login_card_ap(world.issue_card("juki-card-ap", resident_id, code=code))
    return kiosk, sid


def household_names(kiosk: KioskSide, sid: str) -> dict[str, str]:
    """Member id → name, as the issuance server's menu lists the household."""
    return {m["member_id"]: m["name"] for m in kiosk.client.menu(sid)["household"]}


def unique_names(names: dict[str, str]) -> dict[str, str]:
    """Members whose name nobody else in the household shares (so presence proves who)."""
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return {mid: name for mid, name in names.items() if counts[name] == 1}


def assert_pages_belong_to(pdf: bytes, resident_id: str, code: str) -> list[str]:
    """Every page carries the applicant's RID line, one document, pages 1..n; the texts."""
    texts = pages_text(pdf)
    lines = [LINE.search(t) for t in texts]
    assert all(lines), "a page without its RID line"
    found = [m.groups() for m in lines if m]
    assert {f[0] for f in found} == {resident_id}
    assert {f[2] for f in found} == {code}
    assert len({f[1] for f in found}) == 1, "pages of several documents in one PDF"
    assert [(int(f[3]), int(f[4])) for f in found] == [
        (n, len(found)) for n in range(1, len(found) + 1)
    ]
    return texts


def people_rows(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip() == "氏名")


# -- CERT-001 … CERT-006, CERT-009: every type and variant ---------------------------------

TYPES = [
    pytest.param(
        "resident_record", None, "eligible", "住民票の写し", "jpki",
        marks=[pytest.mark.requirement("CERT-001", "CERT-009"), pytest.mark.smoke],
        id="resident_record-jpki",
    ),
    pytest.param(
        "resident_record", None, "eligible", "住民票の写し", "card_ap",
        marks=pytest.mark.requirement("CERT-001", "CERT-009"), id="resident_record-card_ap",
    ),
    pytest.param(
        "resident_record_entries", None, "eligible", "住民票記載事項証明書", "jpki",
        marks=pytest.mark.requirement("CERT-002", "CERT-009"), id="entries",
    ),
    pytest.param(
        "seal_registration", None, "seal_registered", "印鑑登録証明書", "card_ap",
        marks=pytest.mark.requirement("CERT-003", "CERT-009"), id="seal",
    ),
    pytest.param(
        "tax_certificate", "income", "tax_record", "所得証明書", "jpki",
        marks=pytest.mark.requirement("CERT-004", "CERT-009"), id="tax-income",
    ),
    pytest.param(
        "tax_certificate", "assessment", "tax_record", "課税証明書", "jpki",
        marks=pytest.mark.requirement("CERT-004", "CERT-009"), id="tax-assessment",
    ),
    pytest.param(
        "tax_certificate", "payment", "tax_record", "納税証明書", "card_ap",
        marks=pytest.mark.requirement("CERT-004", "CERT-009"), id="tax-payment",
    ),
    pytest.param(
        "koseki", "full", "koseki_here", "戸籍全部事項証明書", "jpki",
        marks=pytest.mark.requirement("CERT-005", "CERT-009"), id="koseki-full",
    ),
    pytest.param(
        "koseki", "individual", "koseki_here", "戸籍個人事項証明書", "card_ap",
        marks=pytest.mark.requirement("CERT-005", "CERT-009"), id="koseki-individual",
    ),
    pytest.param(
        "fuhyo", None, "koseki_here", "戸籍の附票の写し", "jpki",
        marks=pytest.mark.requirement("CERT-006", "CERT-009"), id="fuhyo",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("cert_type", "variant", "trait", "title", "method"), TYPES)
def test_every_type_is_issued_to_the_applicant(
    backend: World,
    kiosks: list[KioskSide],
    cert_type: CertTypeName,
    variant: str | None,
    trait: str,
    title: str,
    method: str,
) -> None:
    rid = backend.resident(CITY, trait)
    kiosk, sid = login(backend, kiosks, rid, method=method)
    offered = {(c["type"], c["variant"]): c for c in kiosk.client.menu(sid)["certificates"]}
    entry = offered[(cert_type, variant)]
    assert entry["available"], entry["refusal"]
    done, pdf = kiosk.issue(sid, cert_type, variant=variant, copies=2)
    assert (done.state, done.title, done.copies_printed) == ("completed", title, 2)
    assert done.total_fee == 2 * entry["fee"]
    texts = assert_pages_belong_to(pdf, rid, CITY)
    assert len(texts) == done.pages
    assert title in texts[0]
    assert "令和8年11月24日" in texts[-1], "the issue date from the rig clock, in 和暦"


@pytest.mark.requirement("CERT-009", "CERT-010")
@pytest.mark.parametrize("code", MUNICIPALITIES)
def test_municipal_answer_is_its_own_pdf_with_the_seal(backend: World, code: str) -> None:
    """Straight over LGWAN (LGPKI client certificate): the PDF itself, as the centre gets it."""
    rid = backend.resident(code, "eligible")
    serial = backend.registered_serial(code, rid)
    with https_client(
        backend.endpoints["municipal_base_url"],
        client=backend.lgwan_client_cert(),
        server_ca=backend.lgwan_ca(),
    ) as lgwan:
        opened = lgwan.post(
            f"/municipalities/{code}/auth/jpki", json={"cert_serial": f"{serial:x}"}
        )
        assert opened.status_code == 201, opened.text
        sid = opened.json()["session_id"]
        answer = lgwan.post(
            f"/municipalities/{code}/sessions/{sid}/certificates",
            json={"type": "resident_record_entries", "copies": 1},
        )
    assert answer.status_code == 201, answer.text
    doc = answer.json()
    pdf = base64.b64decode(doc["pdf_base64"])
    assert pdf.startswith(b"%PDF-")
    assert hashlib.sha256(pdf).hexdigest() == doc["sha256"]
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == doc["pages"] == len(doc["page_resident_ids"])
    assert doc["resident_id"] == rid and set(doc["page_resident_ids"]) == {rid}
    last = reader.pages[-1]
    text = last.extract_text() or ""
    office = {CITY: "みなと市長", SMALL_TOWN: "やまなみ町長", KOSEKI_TOWN: "かわべ町長"}[code]
    assert "住民票記載事項証明書" in text and office in text and "之印" in text
    red = [
        tuple(float(x) for x in m.groups())
        for m in COLOUR.finditer(last.get_contents().get_data())  # type: ignore[union-attr]
    ]
    assert any(r > 0.6 and g < 0.4 and b < 0.4 for r, g, b in red), "no red seal drawn"


@pytest.mark.requirement("CERT-007")
def test_a_type_the_municipality_does_not_offer_is_refused(
    backend: World, kiosks: list[KioskSide]
) -> None:
    rid = backend.resident(SMALL_TOWN, "tax_record")
    kiosk, sid = login(backend, kiosks, rid, code=SMALL_TOWN)
    offered = {(c["type"], c["variant"]) for c in kiosk.client.menu(sid)["certificates"]}
    assert ("tax_certificate", "income") in offered
    assert ("tax_certificate", "payment") not in offered
    with pytest.raises(CentreApiError) as refused:
        kiosk.client.request_certificate(sid, "tax_certificate", variant="payment")
    assert (refused.value.status, refused.value.code) == (403, "type_not_offered")
    assert refused.value.source == "municipality"


@pytest.mark.requirement("CERT-008")
def test_any_store_issues_the_users_own_municipality(
    backend: World, kiosks: list[KioskSide]
) -> None:
    rid = backend.resident(KOSEKI_TOWN, "eligible")
    for kiosk_id, store in (("kiosk-0001", "store-0001"), ("kiosk-4701", "store-okinawa-9")):
        kiosk, sid = login(
            backend, kiosks, rid, code=KOSEKI_TOWN, kiosk_id=kiosk_id, store_id=store
        )
        done, pdf = kiosk.issue(sid, "resident_record")
        assert done.fee_per_copy == 300  # かわべ町's fee, wherever the store is
        assert_pages_belong_to(pdf, rid, KOSEKI_TOWN)


# -- 住民票の写し: scope and options --------------------------------------------------------


@pytest.mark.requirement("CERT-011")
@pytest.mark.parametrize("scope", ["household", "members", "self"])
def test_whole_household_or_exactly_the_chosen_members(
    backend: World, kiosks: list[KioskSide], scope: str
) -> None:
    rid = backend.resident(CITY, "household_of_5")
    kiosk, sid = login(backend, kiosks, rid)
    names = household_names(kiosk, sid)
    assert len(names) == 5
    others = [m for m in names if m != rid]
    chosen = {"household": set(names), "members": {rid, others[1]}, "self": {rid}}[scope]
    options: dict[str, Any] = {"scope": scope}
    if scope == "members":
        options["members"] = sorted(chosen)
    _, pdf = kiosk.issue(sid, "resident_record", options=options)
    text = "\n".join(assert_pages_belong_to(pdf, rid, CITY))
    assert people_rows(text) == len(chosen)
    for mid, name in unique_names(names).items():
        assert (name in text) is (mid in chosen), f"{mid} printed: {name in text}"
    assert ("世帯全員" in text) is (scope == "household")


@pytest.mark.requirement("CERT-012")
def test_a_member_of_another_household_is_refused(backend: World, kiosks: list[KioskSide]) -> None:
    rid = backend.resident(CITY, "household_of_3")
    stranger = backend.resident(CITY, "household_of_4")
    kiosk, sid = login(backend, kiosks, rid)
    assert stranger not in household_names(kiosk, sid)
    with pytest.raises(CentreApiError) as refused:
        kiosk.client.request_certificate(
            sid, "resident_record", options={"scope": "members", "members": [rid, stranger]}
        )
    assert (refused.value.status, refused.value.code) == (422, "member_not_in_household")


@pytest.mark.requirement("CERT-013")
def test_resident_record_in_the_individual_format_only(
    backend: World, kiosks: list[KioskSide]
) -> None:
    rid = backend.resident(CITY, "household_of_4")
    kiosk, sid = login(backend, kiosks, rid)
    menu = kiosk.client.menu(sid)
    record = next(c for c in menu["certificates"] if c["type"] == "resident_record")
    assert not any("format" in option for option in record["options"])
    _, pdf = kiosk.issue(sid, "resident_record")
    texts = assert_pages_belong_to(pdf, rid, CITY)
    # one block per person, each with its own name, birth date and 続柄 rows
    for rows in ("氏名", "生年月日", "続柄"):
        assert sum(t.splitlines().count(rows) for t in texts) == 4
    # a request for another layout is not something the server accepts
    serial = backend.registered_serial(CITY, rid)
    with https_client(
        backend.municipal_urls[CITY], client=backend.lgwan_client_cert(),
        server_ca=backend.lgwan_ca(),
    ) as lgwan:  # fmt: skip
        session = lgwan.post("/auth/jpki", json={"cert_serial": f"{serial:x}"}).json()["session_id"]
        answer = lgwan.post(
            f"/sessions/{session}/certificates",
            json={"type": "resident_record", "options": {"format": "household_sheet"}},
        )
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_request")


#: all on, all off, and each item alone (so no item's presence hides behind another's)
OPTION_CASES = [
    (True, True, True, "jpki"),
    (False, False, False, "jpki"),
    (True, False, False, "jpki"),
    (False, True, False, "jpki"),
    (False, False, True, "jpki"),
    (True, True, True, "card_ap"),
]


@pytest.mark.requirement("CERT-014", "CERT-015", "CERT-016")
@pytest.mark.parametrize(("honseki", "head", "my_number", "method"), OPTION_CASES)
def test_optional_items_appear_iff_chosen(
    backend: World,
    kiosks: list[KioskSide],
    honseki: bool,
    head: bool,
    my_number: bool,
    method: str,
) -> None:
    rid = backend.resident(CITY, "household_of_2")
    kiosk, sid = login(backend, kiosks, rid, method=method)
    options = {
        "scope": "household",
        "include_honseki": honseki,
        "include_head_relationship": head,
        "include_my_number": my_number,
    }
    _, pdf = kiosk.issue(sid, "resident_record", options=options)
    text = "\n".join(assert_pages_belong_to(pdf, rid, CITY))
    lines = text.splitlines()
    assert ("本籍" in lines and "筆頭者" in lines) is honseki
    assert ("世帯主" in text) is head and ("続柄" in lines) is head
    numbers = re.findall(r"(?<!\d)\d{12}(?!\d)", text)
    assert ("個人番号" in lines) is my_number
    assert len(numbers) == (2 if my_number else 0), "one My Number per person, iff chosen"


@pytest.mark.requirement("CERT-014", "CERT-015", "CERT-016")
@pytest.mark.parametrize("chosen", [True, False])
def test_entries_certificate_options(backend: World, kiosks: list[KioskSide], chosen: bool) -> None:
    """住民票記載事項証明書: 本籍・筆頭者, 世帯主・続柄 iff chosen; no My Number offered."""
    rid = backend.resident(CITY, "household_of_3")
    kiosk, sid = login(backend, kiosks, rid)
    entry = next(
        c for c in kiosk.client.menu(sid)["certificates"] if c["type"] == "resident_record_entries"
    )
    assert "include_my_number" not in entry["options"]
    options = {"include_honseki": chosen, "include_head_relationship": chosen}
    _, pdf = kiosk.issue(sid, "resident_record_entries", options=options)
    lines = "\n".join(assert_pages_belong_to(pdf, rid, CITY)).splitlines()
    assert ("本籍" in lines) is chosen and ("筆頭者" in lines) is chosen
    assert ("世帯主" in lines) is chosen and ("続柄" in lines) is chosen
    assert "個人番号" not in lines


@pytest.mark.requirement("CERT-017")
@pytest.mark.parametrize(
    ("cert_type", "variant", "trait"),
    [
        ("resident_record", None, "seal_registered"),
        ("resident_record_entries", None, "seal_registered"),
        ("seal_registration", None, "seal_registered"),
        ("tax_certificate", "income", "tax_record"),
        ("koseki", "full", "koseki_here"),
        ("fuhyo", None, "koseki_here"),
    ],
)
@pytest.mark.municipal_registry
def test_resident_code_is_never_printed(
    backend: World,
    counter: Counter,
    kiosks: list[KioskSide],
    cert_type: CertTypeName,
    variant: str | None,
    trait: str,
) -> None:
    rid = backend.resident(CITY, trait)
    kiosk, sid = login(backend, kiosks, rid)
    # set-up only: the value the server must never print
    codes = {mid: counter.resident(mid).resident_code for mid in household_names(kiosk, sid)}
    everything = (
        {"include_honseki": True, "include_head_relationship": True, "include_my_number": True}
        if cert_type == "resident_record"
        else {}
    )
    _, pdf = kiosk.issue(sid, cert_type, variant=variant, options=everything)
    text = "\n".join(assert_pages_belong_to(pdf, rid, CITY))
    assert "住民票コード" not in text
    for code in codes.values():
        assert code not in text.replace(" ", "")


def _eligible_housemate_of(
    world: World, counter: Counter, trait: str
) -> tuple[str, str, str] | None:
    """(municipality, an eligible member, the removed person) of a household with `trait`."""
    for code in MUNICIPALITIES:
        eligible = [counter.resident(r) for r in _residents(world, code, "eligible")]
        for gone in _residents(world, code, trait):
            household = counter.resident(gone).household
            for member in eligible:
                if household is not None and member.household == household:
                    return code, member.resident, gone
    return None


def _residents(world: World, code: str, trait: str) -> list[str]:
    try:
        return world.residents(code, trait)
    except NotInTestData:  # an external server hosting only some of the test municipalities
        return []


@pytest.mark.municipal_registry
@pytest.mark.requirement("CERT-018")
@pytest.mark.parametrize("trait", ["deceased", "moved_out"])
def test_removed_persons_are_left_out(
    backend: World, counter: Counter, kiosks: list[KioskSide], trait: str
) -> None:
    found = _eligible_housemate_of(backend, counter, trait)
    assert found is not None, f"the registry has no household with a {trait} member"
    code, rid, gone = found
    kiosk, sid = login(backend, kiosks, rid, code=code)
    names = household_names(kiosk, sid)
    assert gone not in names
    gone_name = counter.resident(gone).name
    _, pdf = kiosk.issue(sid, "resident_record", options={"scope": "household"})
    text = "\n".join(assert_pages_belong_to(pdf, rid, code))
    assert people_rows(text) == len(names)
    if gone_name not in names.values():
        assert gone_name not in text
    assert "住所履歴" not in text and "旧氏" not in text and "除票" not in text


@pytest.mark.municipal_registry
@pytest.mark.requirement("CERT-027")
@pytest.mark.parametrize("method", ["jpki", "card_ap"])
def test_the_registry_as_it_stands_at_issuance(
    backend: World, counter: Counter, kiosks: list[KioskSide], method: str
) -> None:
    """A change in the registry shows on the very next certificate, in the same session."""
    rid = backend.resident(CITY, "household_of_1")
    kiosk, sid = login(backend, kiosks, rid, method=method)
    _, before = kiosk.issue(sid, "resident_record")
    old_name = counter.resident(rid).name
    assert old_name in "\n".join(pages_text(before))
    # set-up: the counter records a change of name and of address (住居表示の変更)
    counter.change(rid, given_name="改名", address="さくら県みなと市新町1丁目2番3号")
    _, after = kiosk.issue(sid, "resident_record")
    text = "\n".join(assert_pages_belong_to(after, rid, CITY))
    assert "改名" in text and "さくら県みなと市新町1丁目2番3号" in text
    assert old_name not in text


# -- before service starts: end to end, and the centre's statistics ------------------------


@pytest.mark.requirement("TEST-001", "TEST-002")
@pytest.mark.parametrize("code", MUNICIPALITIES)
def test_every_offered_type_prints_end_to_end(
    backend: World, kiosks: list[KioskSide], code: str
) -> None:
    """The seed's 事前評価: every type the municipality offers, issued and checked page by page."""
    rid = backend.resident(code, "every_type")
    kiosk, sid = login(backend, kiosks, rid, code=code)
    menu = kiosk.client.menu(sid)
    offered = menu["certificates"]
    assert offered and all(c["available"] for c in offered), [
        c["refusal"] for c in offered if not c["available"]
    ]
    for entry in offered:
        done, pdf = kiosk.issue(sid, entry["type"], variant=entry["variant"])
        assert (done.state, done.title, done.paper) == ("completed", entry["title"], entry["paper"])
        texts = assert_pages_belong_to(pdf, rid, code)
        assert entry["title"] in texts[0]
        for page in PdfReader(io.BytesIO(pdf)).pages:  # the centre's sheets are A4
            assert round(float(page.mediabox.width)) == 595
    assert backend.evidence is not None
    if backend.test_data is not None:
        # an external server keeps its own records; the rig's centre answered for every call
        calls = [r for r in backend.evidence.records("centre-lgwan") if "status" in r]
        assert calls and all(r["status"] < 500 for r in calls)
        return
    # the closed environment: every party the rig talked to is on this machine
    hosts = {
        urlparse(url).hostname
        for url in [*backend.municipal_urls.values(), backend.endpoints["center_url"]]
    }
    assert hosts == {"127.0.0.1"}
    # every call the issuance server answered came from the rig's centre (LGPKI certificate)
    peers = {
        r["peer"] for r in backend.evidence.records("municipal-http") if r["event"] == "request"
    }
    assert peers == {"issuance-centre"}


@pytest.mark.requirement("TEST-004")
@pytest.mark.parametrize("code", MUNICIPALITIES)
def test_statistics_read_from_the_centre_match_the_test_issuances(
    backend: World, kiosks: list[KioskSide], code: str
) -> None:
    rid = backend.resident(code, "tax_record")
    kiosk, sid = login(backend, kiosks, rid, code=code)
    # this month so far, as the server counts (its own clock): a long-lived external server
    # has counted earlier issuances too, so the test's issuances are the difference
    printed_before = _server_printed_copies(backend, code)
    fees = {(c["type"], c["variant"]): c["fee"] for c in kiosk.client.menu(sid)["certificates"]}
    plan: list[tuple[CertTypeName, str | None, int]] = [
        ("resident_record", None, 2),
        ("resident_record_entries", None, 1),
        ("tax_certificate", "income", 3),
    ]
    copies = fee_total = 0
    for cert_type, variant, n in plan:
        kiosk.issue(sid, cert_type, variant=variant, copies=n)
        copies += n
        fee_total += n * fees[(cert_type, variant)]
    # a cancelled request is neither counted nor charged
    cancelled = kiosk.client.request_certificate(sid, "resident_record", copies=4)
    kiosk.client.cancel_request(sid, cancelled.request_id)
    with CentreClient(
        backend.endpoints["center_url"],
        client=backend.tls.lgpki_client(),
        server_ca=backend.tls.server_ca,
    ) as lgwan_terminal:
        rows = lgwan_terminal.settlement("2026-11", code)
    assert len(rows) == 1
    row = rows[0]
    assert (row["issuances"], row["copies"], row["fees"]) == (len(plan), copies, fee_total)
    assert row["commission"] == COMMISSION_PER_COPY_YEN * copies
    assert row["net"] == fee_total - COMMISSION_PER_COPY_YEN * copies
    # and the issuance server's own count of printed copies agrees with the centre
    assert _server_printed_copies(backend, code) - printed_before == copies


def _server_printed_copies(world: World, code: str) -> int:
    with https_client(
        world.municipal_urls[code], client=world.lgwan_client_cert(), server_ca=world.lgwan_ca()
    ) as lgwan:
        stats = lgwan.get("/statistics")  # default period: this month up to today
    assert stats.status_code == 200, stats.text
    printed: int = stats.json()["totals"]["printed_copies"]
    return printed

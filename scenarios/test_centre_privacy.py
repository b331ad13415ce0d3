"""The centre keeps no certificate data and no user information (seed I.1 (2) 証明書データの不保持).

After each way a transaction can end the document is gone at the kiosk API and
`IssuanceCentre.held_documents()` (the documented test hook) is 0; the centre's state folder
holds only its statistics file, and neither it nor the centre's evidence channels contain a
name, a resident id, a My Number, a 住民票コード or the user certificate.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from emulators.municipal.models import Person
from rig.core.drivers.centre_client import CentreApiError
from rig.harness.world import World
from scenarios.support import KioskSide

pytestmark = pytest.mark.world(marks="layout")


@pytest.mark.requirement("PRIV-003")
@pytest.mark.smoke
@pytest.mark.parametrize(
    ("ending", "status"),
    [
        ("printed", 409),
        ("failed", 409),
        ("cancelled", 409),
        ("session-ended", 404),
        ("session-expired", 410),
        ("closing-time", 410),
    ],
)
def test_nothing_is_held_once_a_transaction_ends(backend: World, ending: str, status: int) -> None:
    card = backend.issue_card("mynumber-valid", backend.resident())
    kiosk = KioskSide.connect(backend)
    try:
        sid, _ = kiosk.login_jpki(card)
        c = kiosk.client
        receipt = c.request_certificate(sid, "resident_record", copies=2)
        c.download(sid, receipt.request_id)
        assert backend.centre.held_documents() == 1
        if ending in ("printed", "failed"):
            c.confirm_payment(sid, receipt.request_id, receipt.total_fee)
            c.complete(sid, receipt.request_id, ending, 1)  # type: ignore[arg-type]
        elif ending == "cancelled":
            c.cancel_request(sid, receipt.request_id)
        elif ending == "session-ended":
            c.end_session(sid)
        elif ending == "session-expired":
            backend.clock.advance(timedelta(minutes=15).total_seconds())
        else:  # the rig clock passes 23:10 with the session still open
            backend.clock.set(backend.clock.now().replace(hour=22, minute=59))
            sid, _ = kiosk.login_jpki(card)
            receipt = c.request_certificate(sid, "resident_record")
            c.download(sid, receipt.request_id)
            backend.clock.advance(timedelta(minutes=11).total_seconds())
        assert backend.centre.held_documents() == 0
        with pytest.raises(CentreApiError) as gone:
            c.download(sid, receipt.request_id)
        assert gone.value.status == status
    finally:
        kiosk.close()
    leftovers = sorted(p.name for p in backend.centre.state_dir.iterdir())
    assert {name.split("-")[0] for name in leftovers} <= {"centre.sqlite"}, leftovers


def secrets_of(world: World, resident_ids: list[str]) -> dict[str, str]:
    """What must never be in the centre's files: every member's identity (set-up read)."""
    found: dict[str, str] = {}
    with world.municipal.registry.session() as s:
        for person in s.scalars(select(Person).where(Person.id.in_(resident_ids))):
            found[f"name {person.id}"] = f"{person.family_name} {person.given_name}"
            found[f"family name {person.id}"] = person.family_name
            found[f"kana {person.id}"] = f"{person.family_kana} {person.given_kana}"
            found[f"my number {person.id}"] = person.my_number
            found[f"resident code {person.id}"] = person.resident_code
            found[f"resident id {person.id}"] = person.id
    return found


def household_of(world: World, resident_id: str) -> list[str]:
    household = world.municipal.registry.resident(resident_id).household_id
    with world.municipal.registry.session() as s:
        return list(s.scalars(select(Person.id).where(Person.household_id == household)))


def centre_files(world: World) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in world.centre.state_dir.iterdir() if p.is_file()}
    assert world.evidence is not None
    for channel in world.evidence.channels():
        if channel.startswith("centre"):
            path = world.evidence.folder / f"{channel}.jsonl"
            files[f"evidence/{channel}"] = path.read_bytes()
    return files


@pytest.mark.requirement("PRIV-010", "PRIV-003")
@pytest.mark.parametrize("method", ["jpki", "card-ap"])
def test_statistics_and_records_hold_no_personal_data(backend: World, method: str) -> None:
    resident = backend.resident(trait="household_of_4")
    profile = "mynumber-valid" if method == "jpki" else "mynumber-card-ap"
    card = backend.issue_card(profile, resident)
    kiosk = KioskSide.connect(backend)
    try:
        if method == "jpki":
            sid, _ = kiosk.login_jpki(card)
        else:
            sid, _ = kiosk.login_card_ap(card)
        done, pdf = kiosk.issue(sid, "resident_record", copies=2)
        kiosk.client.end_session(sid)
    finally:
        kiosk.close()
    assert done.copies_printed == 2
    members = household_of(backend, resident)
    assert len(members) >= 4
    forbidden = {k: v.encode() for k, v in secrets_of(backend, members).items()}
    if card.credentials is not None:
        der = card.credentials.auth_cert.public_bytes(Encoding.DER)
        forbidden["certificate DER"] = der[-64:]
        forbidden["certificate hex"] = der[-64:].hex().encode()
        forbidden["certificate base64"] = base64.b64encode(der)[-60:]
    forbidden["pdf"] = pdf[len(pdf) // 2 : len(pdf) // 2 + 64]
    files = centre_files(backend)
    assert any(name.startswith("evidence/centre") for name in files)
    hits = [
        (what, name)
        for name, content in files.items()
        for what, needle in forbidden.items()
        if needle and needle in content
    ]
    assert hits == []
    assert _statistics_columns(backend.centre.state_dir) <= {
        "id", "request_id", "municipality", "store_id", "operator_id", "kiosk_id", "cert_type",
        "variant", "copies", "fee_per_copy", "fee_total", "issued_at", "month",
    }  # fmt: skip


def _statistics_columns(state_dir: Path) -> set[str]:
    import sqlite3

    db = sqlite3.connect(f"file:{state_dir / 'centre.sqlite'}?mode=ro", uri=True)
    try:
        return {row[1] for row in db.execute("PRAGMA table_info(issuance)")}
    finally:
        db.close()

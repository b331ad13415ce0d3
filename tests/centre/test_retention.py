"""No retention (証明書データの不保持): nothing of a certificate stays once a transaction ends."""

from __future__ import annotations

from datetime import timedelta

from rig.core.evidence import EvidenceStore

from .conftest import CITY, SMALL_TOWN, CentreWorld


def test_nothing_is_left_in_memory_or_on_disk(world: CentreWorld, evidence: EvidenceStore) -> None:
    w = world
    kiosk = w.kiosk()
    residents = [w.find(CITY, "household_of_4", i) for i in range(3)] + [
        w.find(SMALL_TOWN, "seal_registered", 1)
    ]
    names = [w.municipal.registry.resident(r).name for r in residents]
    # 1: completed
    sid = w.jpki_login(kiosk, w.jpki_holder(0, CITY, residents[0])).session_id
    r1 = kiosk.request_certificate(sid, "resident_record")
    kiosk.download(sid, r1.request_id)
    kiosk.confirm_payment(sid, r1.request_id, r1.total_fee)
    kiosk.complete(sid, r1.request_id, "printed", 1)
    assert w.centre.held_documents() == 0
    kiosk.end_session(sid)
    # 2: cancelled request, then the session ended with another request still held
    sid = w.jpki_login(kiosk, w.jpki_holder(1, CITY, residents[1])).session_id
    r2 = kiosk.request_certificate(sid, "resident_record")
    kiosk.request_certificate(sid, "resident_record_entries")
    assert w.centre.held_documents() == 2
    kiosk.cancel_request(sid, r2.request_id)
    assert w.centre.held_documents() == 1
    kiosk.end_session(sid)
    assert w.centre.held_documents() == 0
    # 3: abandoned (the kiosk vanished): deleted when the session times out on the rig clock
    sid = w.jpki_login(kiosk, w.jpki_holder(2, CITY, residents[2])).session_id
    kiosk.request_certificate(sid, "resident_record")
    user = w.card_user(residents[3])
    sid4 = w.card_login(kiosk, user).session_id
    kiosk.request_certificate(sid4, "seal_registration")
    assert w.centre.held_documents() == 2
    w.clock.advance(timedelta(minutes=15))
    assert w.centre.service.sessions.held_documents() == 0
    assert w.centre.open_sessions() == 0

    files = [p for p in w.centre.state_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} <= {"centre.sqlite", "centre.sqlite-wal", "centre.sqlite-shm"}
    blob = b"".join(p.read_bytes() for p in files)
    for needle in [*residents, *names, "RID:", "%PDF"]:
        assert needle.encode() not in blob, needle
    centre_records = "".join(p.read_text("utf-8") for p in evidence.folder.glob("centre*.jsonl"))
    assert centre_records  # the centre did record what crossed it
    for needle in [*residents, *names, user.pin]:
        assert needle not in centre_records, needle

"""No retention (seed I.1 (2) 証明書データの不保持) and an audit log without personal data."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from rig.core.protocols.robot import ScreenId
from rig.harness.kiosk_steps import (
    apply_and_pay,
    authenticate,
    choose_through_to_confirmation,
    take_everything,
)
from rig.harness.world import CARD_AP_PIN
from rig.harness.world import World as KioskWorld


def test_held_data_during_and_after_a_transaction(world: KioskWorld) -> None:
    rid = world.resident(trait="household_of_3")
    card = world.issue_card("mynumber-valid", rid)
    c = world.customer
    c.place_card(card.card)
    c.wait_for(ScreenId.PIN)
    held = world.robot.held()
    assert held.card_data == 1 and held.open_session, "the card's certificate while in use"
    c.enter_pin(card.pins["auth_pin"])
    c.wait_for(ScreenId.CARD_REMOVAL)
    c.remove_card()
    c.wait_for(ScreenId.CERTIFICATE_CHOICE)
    held = world.robot.held()
    assert held.card_data == 0, "the certificate is dropped once the card has left"
    assert "household_names" in held.personal_data
    choose_through_to_confirmation(world, "resident_record")
    c.begin_cash("privacy")
    c.tap("apply")
    c.wait_for(ScreenId.PAYMENT)
    held = world.robot.held()
    assert held.documents == 1 and held.document_bytes > 1000
    c.pay(100, 100)
    c.wait_for(ScreenId.TAKE_REMINDER)
    assert world.robot.held().documents == 0, "erased after printing"
    take_everything(world)
    held = world.kiosk.held()
    assert held.empty and held.files == []
    assert not any(world.kiosk.spool_dir.iterdir())


def test_audit_log_has_no_personal_data(world: KioskWorld) -> None:
    rid = world.resident()
    info = world.municipal.registry.resident(rid)
    card = world.issue_card("mynumber-card-ap", rid)
    authenticate(world, card)
    choose_through_to_confirmation(world, "resident_record")
    apply_and_pay(world)
    take_everything(world)
    # a card-AP transaction too (its PIN goes to the municipality)
    card2 = world.issue_card("juki-card-ap", world.resident(trait="seal_registered"))
    authenticate(world, card2)
    choose_through_to_confirmation(world, "seal_registration", pin=CARD_AP_PIN)
    c = world.customer
    c.cancel()

    text = world.kiosk.audit.path.read_text(encoding="utf-8")
    assert world.evidence is not None
    evidence_text = "\n".join(
        json.dumps(r, ensure_ascii=False)
        for channel in ("kiosk-audit", "kiosk-robot")
        for r in world.evidence.records(channel)
    )
    assert any(r["event"] == "keys" for r in world.evidence.records("kiosk-robot"))
    assert card.credentials is not None
    cert_der = card.credentials.auth_cert.public_bytes(Encoding.DER)
    for digits in (card.pins["auth_pin"], CARD_AP_PIN, "123456789018"):  # PINs, My Number
        pattern = rf"(?<![0-9a-f]){digits}(?![0-9a-f])"
        assert not re.search(pattern, text) and not re.search(pattern, evidence_text)
    secrets = [
        info.name,
        rid,
        f"{card.credentials.auth_serial:x}",
        str(card.credentials.auth_serial),
        base64.b64encode(cert_der)[:40].decode(),
        cert_der.hex()[:40],
    ]
    for secret in secrets:
        assert secret not in text, f"audit log leaks {secret[:3]}…"
        assert secret not in evidence_text
    events = {json.loads(line)["event"] for line in text.splitlines()}
    assert {
        "transaction_started",
        "authenticated",
        "paid",
        "printed",
        "transaction_ended",
    } <= events


def test_audit_refuses_fields_off_the_allow_list(tmp_path: Path) -> None:
    from emulators.kiosk.audit import AuditFieldError, AuditLog
    from rig.core.clock import RigClock

    log = AuditLog(tmp_path / "audit.jsonl", RigClock())
    log.record("paid", fee_yen=200)
    with pytest.raises(AuditFieldError, match="pin"):
        log.record("oops", pin="1234")
    assert [e["event"] for e in log.entries()] == ["paid"]

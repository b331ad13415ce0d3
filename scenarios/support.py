"""Helpers for scenarios that play the kiosk themselves (事前評価ツール role).

`KioskSide` is a kiosk without a screen: it talks to the centre over the kiosk API with the
kiosk's client certificate, and signs the centre's nonce with the card's key the way the
card's JPKI AP would (COMPUTE DIGITAL SIGNATURE over DigestInfo(SHA-256(nonce))).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from pypdf import PdfReader

from emulators.card import BuiltCard
from rig.core.drivers.centre_client import CentreApiError, CentreClient, RequestReceipt, SessionInfo
from rig.core.protocols import card_ap
from rig.core.protocols.apdu import select_aid
from rig.core.protocols.centre import CertTypeName
from rig.harness.world import KIOSK_ID, World

RID_LINE = re.compile(r"RID:(\S+)")


@dataclass
class KioskSide:
    world: World
    client: CentreClient
    kiosk_id: str = KIOSK_ID
    store_id: str = "store-0001"
    operator_id: str = "rig-konbini"

    @classmethod
    def connect(cls, world: World, kiosk_id: str = KIOSK_ID, **ids: str) -> KioskSide:
        client = CentreClient(
            world.endpoints["center_url"],
            client=world.tls.kiosk_client(kiosk_id),
            server_ca=world.tls.server_ca,
        )
        return cls(world, client, kiosk_id, **ids)

    def close(self) -> None:
        self.client.close()

    def open(self) -> SessionInfo:
        return self.client.open_session(self.kiosk_id, self.store_id, self.operator_id)

    def login_jpki(self, card: BuiltCard) -> tuple[str, Any]:
        """Open a session and authenticate with the card's user certificate and key."""
        assert card.credentials is not None, "this card has no JPKI credentials"
        session = self.open()
        nonce = self.client.new_nonce(session.session_id)
        signature = card.credentials.auth_key.sign(nonce, padding.PKCS1v15(), hashes.SHA256())
        result = self.client.authenticate_jpki(
            session.session_id, card.credentials.auth_cert, signature, nonce
        )
        return session.session_id, result

    def login_card_ap(self, card: BuiltCard, pin: str | None = None) -> tuple[str, Any]:
        """Card AP: challenge, the card's response, then (after removal) the PIN."""
        info = card.card_ap_info
        assert info is not None, "this card has no card AP"
        session = self.open()
        challenge = self.client.card_ap_challenge(
            session.session_id, info.municipality_code, info.user_id
        )
        # the card itself answers INTERNAL AUTHENTICATE, as it would in the reader
        card.card.execute(select_aid(card_ap.AID_CARD_AP))
        answer = card.card.execute(card_ap.internal_authenticate(challenge.challenge))
        assert answer[-2:] == b"\x90\x00", f"card AP refused: {answer[-2:].hex()}"
        response = answer[:-2]
        self.client.authenticate_card_ap(session.session_id, challenge.challenge, response)
        result = self.client.verify_pin(session.session_id, pin or card.pins["card_ap_pin"])
        return session.session_id, result

    def issue(
        self, session_id: str, cert_type: CertTypeName, *, copies: int = 1, **request: Any
    ) -> tuple[RequestReceipt, bytes]:
        """Request, download, pay exactly and report printed: one whole issuance."""
        receipt = self.client.request_certificate(session_id, cert_type, copies=copies, **request)
        pdf = self.client.download(session_id, receipt.request_id)
        self.client.confirm_payment(session_id, receipt.request_id, receipt.total_fee)
        done = self.client.complete(session_id, receipt.request_id, "printed", copies)
        return done, pdf


def jpki_refusal(world: World, card: BuiltCard) -> CentreApiError | None:
    """Log in with the card's JPKI at a fresh kiosk: the refusal, or None when let in."""
    kiosk = KioskSide.connect(world)
    try:
        kiosk.login_jpki(card)
    except CentreApiError as exc:
        return exc
    finally:
        kiosk.close()
    return None


def resident_ids_in(pdf: bytes) -> list[str]:
    """The machine-readable resident id printed on each page (RID:...)."""
    ids = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        found = RID_LINE.findall(page.extract_text() or "")
        ids.append(found[0] if found else "")
    return ids

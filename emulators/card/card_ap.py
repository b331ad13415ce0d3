"""The card side of the rig's 証明書等自動交付用カードアプリケーション (docs/card-ap.md).

EF 0001 holds the public identifiers (municipality code, user id); INTERNAL AUTHENTICATE
(00 88 00 01, 16-byte challenge) answers with the AES-CMAC computed by
`rig.core.protocols.card_ap.compute_response` under the per-card key. No PIN lives here.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulators.card.application import Application, ElementaryFile
from rig.core.protocols.apdu import INS_INTERNAL_AUTHENTICATE, SW, CommandAPDU, response, wrong_le
from rig.core.protocols.card_ap import (
    AID_CARD_AP,
    CHALLENGE_LENGTH,
    EF_CARD_AP_INFO,
    KEY_REFERENCE,
    RESPONSE_LENGTH,
    CardApInfo,
    compute_response,
)


@dataclass
class CardApApplication(Application):
    info: CardApInfo | None = None
    card_key: bytes = b""

    @classmethod
    def build(cls, info: CardApInfo, card_key: bytes) -> CardApApplication:
        app = cls(name="card_ap", aid=AID_CARD_AP, info=info, card_key=card_key)
        app.files[EF_CARD_AP_INFO] = ElementaryFile(EF_CARD_AP_INFO, data=info.encode())
        return app

    def handle_other(self, cmd: CommandAPDU) -> bytes:
        if cmd.ins != INS_INTERNAL_AUTHENTICATE:
            return super().handle_other(cmd)
        if cmd.cla != 0x00:
            return response(SW.CLA_NOT_SUPPORTED)
        if cmd.p1 != 0x00 or cmd.p2 != KEY_REFERENCE:
            return response(SW.INCORRECT_P1P2)
        if len(cmd.data) != CHALLENGE_LENGTH:
            return response(SW.WRONG_LENGTH)
        if cmd.le is not None and cmd.le not in (RESPONSE_LENGTH, 256):
            return response(wrong_le(RESPONSE_LENGTH))
        assert self.info is not None
        return response(SW.OK, compute_response(self.card_key, self.info, cmd.data))

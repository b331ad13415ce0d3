"""APDU tracing into the evidence store, with secrets kept out before anything is written.

Commands are written with the data of PIN-carrying instructions masked. Responses are written
as their length, status word and a short digest, never their data: a response may be a
certificate body or, after the 券面事項入力補助AP's PIN, the holder's My Number.
"""

from __future__ import annotations

import hashlib

from rig.core.evidence import EvidenceStore, mask_value

#: Instructions whose command data is a secret (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER).
SECRET_INS = frozenset({0x20, 0x24, 0x2C})


def masked_command(apdu: bytes) -> str:
    """Hex of a command APDU with the data field of PIN-carrying commands masked."""
    if len(apdu) > 5 and apdu[1] in SECRET_INS:
        return apdu[:5].hex() + mask_value(apdu[5:])
    return apdu.hex()


def trace_apdu(
    evidence: EvidenceStore | None, reader: str, command: bytes, response: bytes
) -> None:
    if evidence is None:
        return
    evidence.record(
        "apdu",
        "transmit",
        reader=reader,
        command=masked_command(command),
        response_len=len(response),
        response_digest=hashlib.sha256(response).hexdigest()[:16],
        sw=response[-2:].hex() if len(response) >= 2 else "",
    )

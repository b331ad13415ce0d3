"""The card application for カードAP認証方式: wire format and checks.

証明書等自動交付用カードアプリケーション (the certificate auto-issuance card application).

The real application is not public; this is the rig's design (docs/card-ap.md). Both ends
import this module: the virtual card computes its answer with it, and the municipal issuance
server verifies that answer with it, without ever importing the card emulator.

- The card stores its municipality code, a user identifier and a per-card key.
- The per-card key is derived from the municipality's master key and the user identifier
  (NIST SP 800-108 KDF in counter mode, AES-CMAC as PRF), so the municipality can recompute
  it and needs no per-card key table.
- While the card is in the reader, the kiosk relays a fresh 16-byte challenge to it with
  INTERNAL AUTHENTICATE; the card answers AES-CMAC(card key, context || challenge).
- The PIN is never sent to the card: the municipality's registration checks it (salted
  scrypt hash, tries counted and locked there) after the card has left the reader.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import algorithms

from rig.core.protocols.apdu import AID_CARD_AP, EF_CARD_AP_INFO, CommandAPDU, select_aid, select_ef

__all__ = [
    "AID_CARD_AP",
    "CHALLENGE_LENGTH",
    "EF_CARD_AP_INFO",
    "RESPONSE_LENGTH",
    "CardApError",
    "CardApInfo",
    "check_pin",
    "compute_response",
    "derive_card_key",
    "hash_pin",
    "internal_authenticate",
    "select_aid",
    "select_ef",
    "verify_card_response",
    "world_master_key",
]

FORMAT_VERSION = 1
CHALLENGE_LENGTH = 16
RESPONSE_LENGTH = 16
KEY_REFERENCE = 0x01
_KDF_LABEL = b"KONBINI-CARDAP-KEY"
_AUTH_CONTEXT = b"KONBINI-CARDAP-IA"
_MUNICIPALITY = re.compile(r"^[0-9]{6}$")
_USER_ID = re.compile(r"^[0-9A-Z]{16}$")

TAG_TEMPLATE = 0x70
TAG_VERSION = 0x80
TAG_MUNICIPALITY = 0x81
TAG_USER_ID = 0x82
TAG_KEY_VERSION = 0x83
TAG_CARD_KIND = 0x84

#: Card kinds as the info EF names them.
CARD_KINDS = ("MYNA", "JUKI")


class CardApError(ValueError):
    """Malformed card-AP data (info EF, identifiers, challenge, key)."""


@dataclass(frozen=True)
class CardApInfo:
    """What the card AP's info EF (0001) holds: public identifiers, no secret."""

    municipality_code: str
    user_id: str
    key_version: int = 1
    card_kind: str = "MYNA"

    def __post_init__(self) -> None:
        if not _MUNICIPALITY.match(self.municipality_code):
            raise CardApError("municipality code must be 6 digits (全国地方公共団体コード)")
        if not _USER_ID.match(self.user_id):
            raise CardApError("user id must be 16 characters of 0-9 A-Z")
        if not 0 <= self.key_version <= 255:
            raise CardApError("key version must fit in one byte")
        if self.card_kind not in CARD_KINDS:
            raise CardApError(f"card kind must be one of {CARD_KINDS}")

    def encode(self) -> bytes:
        body = b"".join(
            bytes((tag, len(value))) + value
            for tag, value in (
                (TAG_VERSION, bytes((FORMAT_VERSION,))),
                (TAG_MUNICIPALITY, self.municipality_code.encode("ascii")),
                (TAG_USER_ID, self.user_id.encode("ascii")),
                (TAG_KEY_VERSION, bytes((self.key_version,))),
                (TAG_CARD_KIND, self.card_kind.encode("ascii")),
            )
        )
        return bytes((TAG_TEMPLATE, len(body))) + body

    @classmethod
    def decode(cls, raw: bytes) -> CardApInfo:
        """Parse the info EF; anything malformed raises `CardApError`."""
        if len(raw) < 2 or raw[0] != TAG_TEMPLATE or raw[1] > len(raw) - 2:
            raise CardApError("card AP info: not a 70-template")
        body, fields, pos = raw[2 : 2 + raw[1]], {}, 0
        while pos < len(body):
            if pos + 2 > len(body) or pos + 2 + body[pos + 1] > len(body):
                raise CardApError("card AP info: truncated TLV")
            tag, length = body[pos], body[pos + 1]
            fields[tag] = bytes(body[pos + 2 : pos + 2 + length])
            pos += 2 + length
        try:
            if fields[TAG_VERSION] != bytes((FORMAT_VERSION,)):
                raise CardApError(f"card AP info: unsupported version {fields[TAG_VERSION]!r}")
            return cls(
                municipality_code=fields[TAG_MUNICIPALITY].decode("ascii"),
                user_id=fields[TAG_USER_ID].decode("ascii"),
                key_version=fields[TAG_KEY_VERSION][0],
                card_kind=fields[TAG_CARD_KIND].decode("ascii"),
            )
        except (KeyError, IndexError, UnicodeDecodeError) as exc:
            raise CardApError(f"card AP info: missing or bad field ({exc!r})") from exc


def _cmac(key: bytes, message: bytes) -> bytes:
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(message)
    return mac.finalize()


def derive_card_key(master_key: bytes, info: CardApInfo) -> bytes:
    """The per-card AES-128 key: SP 800-108 counter-mode KDF, PRF = AES-CMAC(master key)."""
    if len(master_key) not in (16, 24, 32):
        raise CardApError("master key must be an AES key (16, 24 or 32 bytes)")
    context = (
        bytes((info.key_version,))
        + info.municipality_code.encode("ascii")
        + info.user_id.encode("ascii")
    )
    # [i]_1 || Label || 0x00 || Context || [L]_2 with L = 128 bits: one PRF block
    return _cmac(master_key, b"\x01" + _KDF_LABEL + b"\x00" + context + b"\x00\x80")


def _auth_message(info: CardApInfo, challenge: bytes) -> bytes:
    return (
        _AUTH_CONTEXT
        + bytes((FORMAT_VERSION,))
        + info.municipality_code.encode("ascii")
        + info.user_id.encode("ascii")
        + challenge
    )


def compute_response(card_key: bytes, info: CardApInfo, challenge: bytes) -> bytes:
    """What the card answers to INTERNAL AUTHENTICATE (the card side of the check)."""
    if len(challenge) != CHALLENGE_LENGTH:
        raise CardApError(f"challenge must be {CHALLENGE_LENGTH} bytes")
    return _cmac(card_key, _auth_message(info, challenge))


def verify_card_response(
    master_key: bytes, info: CardApInfo, challenge: bytes, response: bytes
) -> bool:
    """The municipal server's check: did a genuine card answer this challenge?"""
    if len(challenge) != CHALLENGE_LENGTH or len(response) != RESPONSE_LENGTH:
        return False
    expected = compute_response(derive_card_key(master_key, info), info, challenge)
    return hmac.compare_digest(expected, response)


def internal_authenticate(challenge: bytes) -> bytes:
    """The command APDU the kiosk sends: 00 88 00 01 10 <challenge> 00."""
    if len(challenge) != CHALLENGE_LENGTH:
        raise CardApError(f"challenge must be {CHALLENGE_LENGTH} bytes")
    return CommandAPDU(0x00, 0x88, 0x00, KEY_REFERENCE, challenge, le=256).to_bytes()


def world_master_key(seed: str, municipality_code: str) -> bytes:
    """A municipality's master key in a test world: derived from the world seed, never stored."""
    return hmac.new(
        seed.encode(), b"card-ap-master\x00" + municipality_code.encode(), hashlib.sha256
    ).digest()[:16]


# -- PIN at the municipality (the card holds no PIN for this application) -----------------
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_pin(pin: str, salt: bytes) -> bytes:
    """Salted scrypt hash of a 4-digit PIN, as the municipal registration stores it."""
    if not re.fullmatch(r"[0-9]{4}", pin):
        raise CardApError("a card-AP PIN is 4 digits")
    if len(salt) < 16:
        raise CardApError("use a salt of at least 16 random bytes")
    return hashlib.scrypt(pin.encode("ascii"), salt=salt, **_SCRYPT)


def check_pin(pin: str, salt: bytes, stored: bytes) -> bool:
    """Constant-time comparison of a candidate PIN with a stored hash (malformed PIN: False)."""
    try:
        candidate = hash_pin(pin, salt)
    except CardApError:
        return False
    return hmac.compare_digest(candidate, stored)

"""The JPKI application (公的個人認証AP) as OpenSC's jpki driver and jpki/myna expect it.

Files: 000A/000B authentication certificate and its CA (public), 0001/0002 signature
certificate (read needs the signature password) and its CA, 0006 token, 0017/001A keys,
0018/001B PINs. COMPUTE DIGITAL SIGNATURE (80 2A 00 80) pads the DigestInfo the host sends
with PKCS#1 v1.5 (block type 1) and applies the selected private key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import rsa

from emulators.card.application import Application, EfKind, ElementaryFile
from emulators.card.pin import ReferenceData
from rig.core.protocols.apdu import (
    AID_JPKI,
    EF_AUTH_CA_CERT,
    EF_AUTH_CERT,
    EF_AUTH_KEY,
    EF_AUTH_PIN,
    EF_SIGN_CA_CERT,
    EF_SIGN_CERT,
    EF_SIGN_KEY,
    EF_SIGN_PIN,
    EF_TOKEN,
    INS_PSO,
    SW,
    CommandAPDU,
    response,
    wrong_le,
)

#: Which PIN a key needs.
KEY_PIN = {EF_AUTH_KEY: EF_AUTH_PIN, EF_SIGN_KEY: EF_SIGN_PIN}
TOKEN_EF_SIZE = 32


class RawRsaSigner:
    """RSA over a caller-supplied DigestInfo: what the chip does, and `cryptography` does not."""

    def __init__(self, key: rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        self._p, self._q = numbers.p, numbers.q
        self._dp, self._dq, self._qinv = numbers.dmp1, numbers.dmq1, numbers.iqmp
        self.n = numbers.public_numbers.n
        self.k = (self.n.bit_length() + 7) // 8

    @property
    def max_input(self) -> int:
        return self.k - 11

    def sign(self, digest_info: bytes) -> bytes:
        if not 0 < len(digest_info) <= self.max_input:
            raise ValueError("DigestInfo length out of range")
        block = b"\x00\x01" + b"\xff" * (self.k - 3 - len(digest_info)) + b"\x00" + digest_info
        m = int.from_bytes(block, "big")
        s1, s2 = pow(m, self._dp, self._p), pow(m, self._dq, self._q)
        s = s2 + self._q * ((self._qinv * (s1 - s2)) % self._p)
        return s.to_bytes(self.k, "big")


def token_bytes(token: str) -> bytes:
    return token.encode("ascii").ljust(TOKEN_EF_SIZE, b" ")


@dataclass
class JpkiApplication(Application):
    signers: dict[int, RawRsaSigner] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        token: str,
        auth_cert: bytes | None,
        auth_ca_cert: bytes | None,
        auth_key: rsa.RSAPrivateKey | None,
        auth_pin: ReferenceData | None,
        sign_cert: bytes | None = None,
        sign_ca_cert: bytes | None = None,
        sign_key: rsa.RSAPrivateKey | None = None,
        sign_pin: ReferenceData | None = None,
    ) -> JpkiApplication:
        """Lay out the EFs; a part given as None is simply absent (SELECT answers 6A82)."""
        app = cls(name="jpki", aid=AID_JPKI)
        app.files[EF_TOKEN] = ElementaryFile(EF_TOKEN, data=token_bytes(token))
        for fid, der, pin in (
            (EF_AUTH_CERT, auth_cert, None),
            (EF_AUTH_CA_CERT, auth_ca_cert, None),
            (EF_SIGN_CERT, sign_cert, EF_SIGN_PIN),
            (EF_SIGN_CA_CERT, sign_ca_cert, None),
        ):
            if der is not None:
                app.files[fid] = ElementaryFile(fid, data=der, read_pin=pin)
        for key_fid, pin_fid, key, ref in (
            (EF_AUTH_KEY, EF_AUTH_PIN, auth_key, auth_pin),
            (EF_SIGN_KEY, EF_SIGN_PIN, sign_key, sign_pin),
        ):
            if ref is not None:
                app.files[pin_fid] = ElementaryFile(pin_fid, EfKind.PIN)
                app.pins[pin_fid] = ref
            if key is not None:
                app.files[key_fid] = ElementaryFile(key_fid, EfKind.KEY)
                app.signers[key_fid] = RawRsaSigner(key)
        return app

    def handle_other(self, cmd: CommandAPDU) -> bytes:
        if cmd.ins == INS_PSO:
            if cmd.cla != 0x80:
                return response(SW.CLA_NOT_SUPPORTED)
            return self.compute_signature(cmd)
        return super().handle_other(cmd)

    def compute_signature(self, cmd: CommandAPDU) -> bytes:
        if cmd.p1 != 0x00 or cmd.p2 != 0x80:
            return response(SW.INCORRECT_P1P2)
        ef = self.current
        if ef is None:
            return response(SW.COMMAND_NOT_ALLOWED_NO_EF)
        signer = self.signers.get(ef.fid)
        if ef.kind is not EfKind.KEY or signer is None:
            return response(SW.COMMAND_INCOMPATIBLE)
        if not self.satisfied(KEY_PIN[ef.fid]):
            return response(SW.SECURITY_STATUS_NOT_SATISFIED)
        if not 0 < len(cmd.data) <= signer.max_input:
            return response(SW.WRONG_LENGTH)
        if cmd.le is not None and cmd.le != signer.k:
            return response(wrong_le(signer.k))
        return response(SW.OK, signer.sign(cmd.data))

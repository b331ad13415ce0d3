"""The 券面事項入力補助AP (text-input support application): My Number and the four attributes.

Both data EFs need the application's own 4-digit PIN (EF 0011, 3 tries).
Encodings (the rig's reading of the public middleware; docs/cards.md):
- EF 0001: `FF 40 0C` + 12 ASCII digits, padded with FF to 17 bytes.
- EF 0002: `FF 20 len` { `DF 21` header (offsets, zeros here), `DF 22` name (UTF-8),
  `DF 23` address (UTF-8), `DF 24` birth date YYYYMMDD, `DF 25` sex ("1"/"2"/"3") }.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from emulators.card.application import Application, EfKind, ElementaryFile
from emulators.card.pin import ReferenceData
from rig.core.protocols.apdu import AID_INPUT_SUPPORT, EF_IS_ATTRIBUTES, EF_IS_MY_NUMBER, EF_IS_PIN

MY_NUMBER_EF_SIZE = 17


def _tlv(tag: bytes, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        length = bytes((n,))
    elif n < 0x100:
        length = bytes((0x81, n))
    else:
        length = bytes((0x82,)) + n.to_bytes(2, "big")
    return tag + length + value


def encode_my_number(my_number: str) -> bytes:
    if len(my_number) != 12 or not my_number.isdigit():
        raise ValueError("a My Number is 12 digits")
    return _tlv(b"\xff\x40", my_number.encode("ascii")).ljust(MY_NUMBER_EF_SIZE, b"\xff")


def encode_attributes(name: str, address: str, birth_date: date, sex: str) -> bytes:
    body = (
        _tlv(b"\xdf\x21", bytes(5))
        + _tlv(b"\xdf\x22", name.encode("utf-8"))
        + _tlv(b"\xdf\x23", address.encode("utf-8"))
        + _tlv(b"\xdf\x24", birth_date.strftime("%Y%m%d").encode("ascii"))
        + _tlv(b"\xdf\x25", sex.encode("ascii"))
    )
    return _tlv(b"\xff\x20", body)


@dataclass
class InputSupportApplication(Application):
    @classmethod
    def build(
        cls,
        *,
        my_number: str,
        name: str,
        address: str,
        birth_date: date,
        sex: str,
        pin: ReferenceData,
    ) -> InputSupportApplication:
        app = cls(name="input_support", aid=AID_INPUT_SUPPORT)
        app.files[EF_IS_PIN] = ElementaryFile(EF_IS_PIN, EfKind.PIN)
        app.pins[EF_IS_PIN] = pin
        app.files[EF_IS_MY_NUMBER] = ElementaryFile(
            EF_IS_MY_NUMBER, data=encode_my_number(my_number), read_pin=EF_IS_PIN
        )
        app.files[EF_IS_ATTRIBUTES] = ElementaryFile(
            EF_IS_ATTRIBUTES,
            data=encode_attributes(name, address, birth_date, sex),
            read_pin=EF_IS_PIN,
        )
        return app

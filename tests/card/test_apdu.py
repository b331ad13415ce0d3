"""rig.core.protocols.apdu: parsing, encoding, builders and trace masking."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rig.core.protocols.apdu import (
    SW,
    ApduFormatError,
    CommandAPDU,
    ResponseAPDU,
    compute_signature,
    masked_command_hex,
    read_binary,
    select_aid,
    select_ef,
    verify,
    verify_failed,
    verify_status,
    wrong_le,
)

SCALE = int(os.environ.get("RIG_FUZZ_SCALE", "1"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (bytes.fromhex("00A40000"), CommandAPDU(0, 0xA4, 0, 0)),
        (bytes.fromhex("00B0001004"), CommandAPDU(0, 0xB0, 0x00, 0x10, le=4)),
        (bytes.fromhex("00B0000000"), CommandAPDU(0, 0xB0, 0, 0, le=256)),
        (bytes.fromhex("00A4020C020018"), CommandAPDU(0, 0xA4, 2, 0x0C, b"\x00\x18")),
        (
            bytes.fromhex("802A008003AABBCC00"),
            CommandAPDU(0x80, 0x2A, 0, 0x80, b"\xaa\xbb\xcc", 256),
        ),
        (bytes.fromhex("00B00000000100"), CommandAPDU(0, 0xB0, 0, 0, le=256, extended=True)),
        (bytes.fromhex("00B00000000000"), CommandAPDU(0, 0xB0, 0, 0, le=65536, extended=True)),
        (
            bytes.fromhex("002000800000021234"),
            CommandAPDU(0, 0x20, 0, 0x80, b"\x12\x34", extended=True),
        ),
    ],
)
def test_parse_cases(raw: bytes, expected: CommandAPDU) -> None:
    assert CommandAPDU.parse(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xa4\x04",
        bytes.fromhex("00A4040C05D392"),  # Lc 5, 2 bytes follow
        bytes.fromhex("00A4040C01D392F0"),  # Lc 1, 3 bytes follow (not Lc+1 either)
        bytes.fromhex("00B00000000000AA"),  # extended form with Lc = 0000
        bytes.fromhex("00B0000000000501"),  # extended Lc 5, 1 byte follows
    ],
)
def test_parse_rejects_malformed_with_wrong_length(raw: bytes) -> None:
    with pytest.raises(ApduFormatError) as info:
        CommandAPDU.parse(raw)
    assert info.value.sw == SW.WRONG_LENGTH


def test_builders_match_the_documented_bytes() -> None:
    assert select_aid(bytes.fromhex("D392F000260100000001")).hex().upper() == (
        "00A4040C0AD392F000260100000001"
    )
    assert select_ef(0x0018).hex().upper() == "00A4020C020018"
    assert read_binary(0x0104, 0xFF).hex().upper() == "00B00104FF"
    assert verify("1234").hex().upper() == "002000800431323334"
    assert verify_status().hex().upper() == "00200080"
    assert compute_signature(b"\x01\x02").hex().upper() == "802A0080020102" + "00"
    with pytest.raises(ValueError):
        read_binary(0x8000, 1)


def test_status_word_helpers() -> None:
    assert verify_failed(2) == 0x63C2
    assert verify_failed(99) == 0x63CF
    assert wrong_le(256) == 0x6C00
    r = ResponseAPDU.parse(b"\x01\x02\x63\xc1")
    assert (r.data, r.sw1, r.sw2, r.ok) == (b"\x01\x02", 0x63, 0xC1, False)
    with pytest.raises(ApduFormatError):
        ResponseAPDU.parse(b"\x90")


def test_masking_hides_pin_digits_but_keeps_the_header() -> None:
    masked = masked_command_hex(verify("9876"))
    assert masked.startswith("0020008004 ")
    assert "39383736" not in masked and "****" in masked
    # change reference data (old + new PIN) and an extended VERIFY are masked too
    change = CommandAPDU(0x00, 0x24, 0x00, 0x80, b"12345678").to_bytes()
    assert "3132" not in masked_command_hex(change)
    ext = CommandAPDU(0, 0x20, 0, 0x80, b"4321", extended=True).to_bytes()
    assert "34333231" not in masked_command_hex(ext)
    # a malformed VERIFY keeps only its header
    assert masked_command_hex(bytes.fromhex("0020008009313233")).startswith("00200080 ")
    # other commands stay in clear
    assert masked_command_hex(select_ef(0x18)) == "00A4020C020018"


@pytest.mark.fuzz
@settings(max_examples=300 * SCALE, deadline=None)
@given(
    cla=st.integers(0, 255),
    ins=st.integers(0, 255),
    p1=st.integers(0, 255),
    p2=st.integers(0, 255),
    data=st.binary(max_size=300),
    le=st.none() | st.integers(1, 65536),
)
def test_encode_parse_roundtrip(
    cla: int, ins: int, p1: int, p2: int, data: bytes, le: int | None
) -> None:
    cmd = CommandAPDU(cla, ins, p1, p2, data, le)
    parsed = CommandAPDU.parse(cmd.to_bytes())
    assert (parsed.cla, parsed.ins, parsed.p1, parsed.p2, parsed.data, parsed.le) == (
        cla,
        ins,
        p1,
        p2,
        data,
        le,
    )


@pytest.mark.fuzz
@settings(max_examples=1000 * SCALE, deadline=None)
@given(raw=st.binary(max_size=600))
def test_parse_never_raises_anything_else(raw: bytes) -> None:
    try:
        cmd = CommandAPDU.parse(raw)
    except ApduFormatError as exc:
        assert exc.sw in (SW.WRONG_LENGTH,)
    else:
        assert cmd.to_bytes()[:4] == raw[:4]
    assert isinstance(masked_command_hex(raw), str)

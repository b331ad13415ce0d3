"""ID-003 and ccTalk codecs: checksums, framing, resynchronisation."""

from __future__ import annotations

import pytest

from rig.core.protocols import cctalk, id003
from rig.core.protocols.id003 import Frame


def test_crc16_kermit_check_value() -> None:
    assert id003.crc16_kermit(b"123456789") == 0x2189


def test_status_request_frame_is_the_well_known_one() -> None:
    # FC 05 11 27 56 is the ID-003 status request every JCM host sends
    assert id003.encode_frame(0x11) == bytes.fromhex("fc05112756")
    assert id003.encode_frame(0x50) == bytes.fromhex("fc0550aa05")


def test_id003_roundtrip_and_errors() -> None:
    raw = id003.encode_frame(0x13, b"\x61")
    assert id003.decode_frame(raw) == Frame(0x13, b"\x61")
    with pytest.raises(id003.CrcError):
        id003.decode_frame(raw[:-1] + bytes([raw[-1] ^ 1]))
    with pytest.raises(id003.Id003Error, match="LNG"):
        id003.decode_frame(raw + b"\x00")
    with pytest.raises(id003.Id003Error):
        id003.decode_frame(b"\x00\x05\x11\x27\x56")
    with pytest.raises(id003.Id003Error):
        id003.encode_frame(0x100)
    with pytest.raises(id003.Id003Error):
        id003.encode_frame(0x11, bytes(251))


def test_id003_decoder_split_garbage_and_resync() -> None:
    dec = id003.FrameDecoder()
    raw = id003.encode_frame(0xC3, b"\x00")
    assert dec.feed(raw[:2]) == []
    assert dec.feed(raw[2:4]) == []
    assert dec.feed(raw[4:]) == [Frame(0xC3, b"\x00")]
    out = dec.feed(b"\x01\x02" + raw)
    assert isinstance(out[0], id003.Discarded) and out[1] == Frame(0xC3, b"\x00")
    # a stray SYNC with a long LNG must not swallow the next real command
    out = dec.feed(b"\xfc\xc8" + id003.encode_frame(0x11))
    assert out[-1] == Frame(0x11) and dec.pending == 0
    # bad CRC: dropped, and the frame behind it still decodes
    bad = bytearray(id003.encode_frame(0x11))
    bad[-1] ^= 0xFF
    out = dec.feed(bytes(bad) + id003.encode_frame(0x40))
    assert out[-1] == Frame(0x40)
    assert any(isinstance(o, id003.Discarded) and o.reason == "bad CRC" for o in out)
    # LNG below the minimum
    out = dec.feed(b"\xfc\x02" + id003.encode_frame(0x11))
    assert out[-1] == Frame(0x11)


def test_denomination_mask_roundtrip() -> None:
    assert id003.denomination_mask({1000, 2000, 5000, 10000}) == b"\x00\x00"
    assert id003.enabled_denominations(id003.denomination_mask({1000})) == {1000}
    assert id003.enabled_denominations(b"\xff\x00") == frozenset()
    with pytest.raises(id003.Id003Error):
        id003.denomination_mask({3000})


def test_cctalk_simple_poll_frame() -> None:
    # the classic "simple poll to the coin acceptor": 02 00 01 FE FF
    assert cctalk.encode_packet(2, 1, 254) == bytes.fromhex("020001feff")
    pkt = cctalk.decode_packet(bytes.fromhex("020001feff"))
    assert (pkt.dest, pkt.src, pkt.header, pkt.data) == (2, 1, 254, b"")


def test_cctalk_errors() -> None:
    with pytest.raises(cctalk.ChecksumError):
        cctalk.decode_packet(bytes.fromhex("020001fefe"))
    with pytest.raises(cctalk.CcTalkError):
        cctalk.decode_packet(bytes.fromhex("020101feff"))
    with pytest.raises(cctalk.CcTalkError):
        cctalk.decode_packet(b"\x02\x00")
    with pytest.raises(cctalk.CcTalkError):
        cctalk.encode_packet(256, 1, 1)
    with pytest.raises(cctalk.CcTalkError):
        cctalk.encode_packet(2, 1, 1, bytes(256))


def test_cctalk_decoder_split_and_resync() -> None:
    accept = frozenset({(2, 1)})
    dec = cctalk.PacketDecoder(accept)
    raw = cctalk.encode_packet(2, 1, 231, b"\x0f\x00")
    assert dec.feed(raw[:3]) == []
    out = dec.feed(raw[3:])
    assert next(o for o in out if isinstance(o, cctalk.Packet)).data == b"\x0f\x00"
    # a corrupted frame is dropped whole; the next one starts after it
    bad = bytearray(cctalk.encode_packet(2, 1, 254))
    bad[-1] ^= 0x55
    out = dec.feed(bytes(bad) + cctalk.encode_packet(2, 1, 254))
    assert out == [cctalk.Discarded(bytes(bad), "bad checksum"), cctalk.Packet(2, 1, 254)]
    assert dec.pending == 0
    # a frame for another device is skipped whole
    out = dec.feed(cctalk.encode_packet(9, 1, 254) + cctalk.encode_packet(2, 1, 254))
    assert [o for o in out if isinstance(o, cctalk.Packet)] == [cctalk.Packet(2, 1, 254)]
    # garbage in front costs the frame behind it, as on a real bus, until the gap clears it
    assert dec.feed(b"\x07\x33" + cctalk.encode_packet(2, 1, 254)) == []
    assert dec.clear() == b"\x07\x33" + cctalk.encode_packet(2, 1, 254)
    assert [o for o in dec.feed(cctalk.encode_packet(2, 1, 254))] == [cctalk.Packet(2, 1, 254)]


def test_cctalk_decoder_never_answers_a_frame_inside_another() -> None:
    """Found by `make fuzz`: with an 8-bit checksum, a frame's bytes can hold a sound frame for
    another device. Split over reads, or with a bad checksum, it must not be read as one."""
    dec = cctalk.PacketDecoder(frozenset({(2, 1), (4, 1)}))
    # a sound frame to the coin acceptor (2) whose bytes 1-6 are a sound frame to hopper 4
    frame = bytes.fromhex("02040101") + bytes.fromhex("0238c000")
    frame += bytes(((-sum(frame)) & 0xFF,))
    assert sum(frame[1:7]) & 0xFF == 0 and frame[1] == 4  # the frame inside
    assert dec.feed(frame[:7]) == []  # incomplete: wait, never the frame inside
    assert dec.feed(frame[7:]) == [cctalk.decode_packet(frame)]
    # a broadcast holding the same is skipped whole
    broadcast = bytes.fromhex("00040101") + bytes.fromhex("0238c000")
    broadcast += bytes(((-sum(broadcast)) & 0xFF,))
    out = dec.feed(broadcast[:7]) + dec.feed(broadcast[7:])
    assert out == [cctalk.Discarded(broadcast, "frame for another address")]
    # a corrupted frame holding one (make fuzz's 02 04 03 01 00 00 00 00 f8) is dropped whole
    corrupted = bytes.fromhex("0204030100000000f8")
    assert dec.feed(corrupted) == [cctalk.Discarded(corrupted, "bad checksum")]


def test_cctalk_event_counter_arithmetic() -> None:
    assert cctalk.next_event_counter(0) == 1
    assert cctalk.next_event_counter(255) == 1
    assert cctalk.events_between(3, 3) == 0
    assert cctalk.events_between(0, 4) == 4
    assert cctalk.events_between(250, 2) == 7
    assert cctalk.events_between(5, 0) == 0
    counter, pairs = cctalk.buffered_credit_pairs(bytes([3, 1, 1, 0, 2] + [0] * 6))
    assert counter == 3 and pairs[0] == (1, 1) and pairs[1] == (0, 2)
    with pytest.raises(cctalk.CcTalkError):
        cctalk.buffered_credit_pairs(b"\x00")

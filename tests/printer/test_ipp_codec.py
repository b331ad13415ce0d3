"""rig.core.protocols.ipp: wire encoding and decoding, malformed input, and fuzzing."""

from __future__ import annotations

import contextlib
import struct
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.core.protocols.ipp import (
    MAX_ATTRIBUTES,
    MAX_COLLECTION_DEPTH,
    MAX_VALUES_PER_ATTRIBUTE,
    Attribute,
    Collection,
    Group,
    GroupTag,
    IntRange,
    IppDecodeError,
    IppEncodeError,
    IppMessage,
    Operation,
    Resolution,
    StringWithLanguage,
    TaggedValue,
    ValueTag,
    decode,
    encode,
    request,
)
from tests.printer.conftest import SCALE


def _sample() -> IppMessage:
    msg = request(Operation.PRINT_JOB, 7, "ipp://127.0.0.1:631/ipp/print")
    job = msg.add_group(GroupTag.JOB)
    job.add("sides", ValueTag.KEYWORD, "two-sided-long-edge")
    job.add("copies", ValueTag.INTEGER, 2)
    job.add("finishings", ValueTag.ENUM, 3, 4)
    job.add("printer-resolution", ValueTag.RESOLUTION, Resolution(300, 300))
    job.add("page-ranges", ValueTag.RANGE_OF_INTEGER, IntRange(1, 5))
    job.add("job-hold-until", ValueTag.NAME_WITH_LANGUAGE, StringWithLanguage("ja", "印刷"))
    size = Collection(
        [
            Attribute.of("x-dimension", ValueTag.INTEGER, 21000),
            Attribute.of("y-dimension", ValueTag.INTEGER, 29700),
        ]
    )
    job.add(
        "media-col",
        ValueTag.BEGIN_COLLECTION,
        Collection([Attribute.of("media-size", ValueTag.BEGIN_COLLECTION, size)]),
    )
    when = datetime(2026, 11, 24, 10, 0, 5, 300000, tzinfo=timezone(timedelta(hours=9)))
    job.add("date-time-at-creation", ValueTag.DATE_TIME, when)
    job.add("job-account-id", ValueTag.NO_VALUE, None)
    job.add("flag", ValueTag.BOOLEAN, True)
    job.add("blob", ValueTag.OCTET_STRING, b"\x00\xff")
    msg.data = b"%PDF-1.4 data"
    return msg


def test_round_trip_keeps_every_value_and_tag() -> None:
    msg = _sample()
    back = decode(encode(msg))
    assert back == msg
    assert back.get("media-col") is not None
    assert back.get("job-account-id") is not None
    assert back.get("job-account-id").tag == ValueTag.NO_VALUE  # type: ignore[union-attr]


def test_wire_layout_of_a_minimal_request() -> None:
    msg = IppMessage(Operation.GET_PRINTER_ATTRIBUTES, 1)
    msg.add_group(GroupTag.OPERATION).add("attributes-charset", ValueTag.CHARSET, "utf-8")
    assert encode(msg) == (
        b"\x02\x00\x00\x0b\x00\x00\x00\x01\x01\x47\x00\x12attributes-charset\x00\x05utf-8\x03"
    )


def test_extension_tags_round_trip() -> None:
    msg = IppMessage(0, 1, [Group(GroupTag.PRINTER, [Attribute.of("x", 0x4000_0001, b"ab")])])
    raw = encode(msg)
    assert raw[9] == ValueTag.EXTENSION
    assert decode(raw).groups[0].attributes[0].values == [TaggedValue(0x4000_0001, b"ab")]


GOOD = encode(_sample())


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "truncated version"),
        (GOOD[:7], "truncated request id"),
        (GOOD[:-14], "truncated|no end-of-attributes tag"),  # cut inside the attributes
        (GOOD[:8] + b"\x00\x03", "unknown delimiter tag 0x00"),
        (GOOD[:8] + b"\x0e\x03", "unknown delimiter tag 0x0e"),
        (GOOD[:8] + b"\x44\x00\x01a\x00\x01b\x03", "attribute before any group tag"),
        (GOOD[:8] + b"\x01\x44\x00\x00\x00\x01b\x03", "additional value without an attribute"),
        (GOOD[:8] + b"\x01\x21\x00\x01a\x00\x03abc\x03", "integer value of 3 bytes"),
        (GOOD[:8] + b"\x01\x22\x00\x01a\x00\x01\x02\x03", "boolean must be one byte 0 or 1"),
        (GOOD[:8] + b"\x01\x44\x00\x01a\x00\x02\xff\xfe\x03", "not UTF-8"),
        (GOOD[:8] + b"\x01\x37\x00\x01a\x00\x00\x03", "collection member outside a collection"),
        (GOOD[:8] + b"\x01\x34\x00\x01a\x00\x00\x03", "truncated"),
        (GOOD[:8] + b"\x01\x44\x01\x00" + b"a" * 256 + b"\x00\x00\x03", "name of 256 bytes"),
        (GOOD[:8] + b"\x01\x7f\x00\x01a\x00\x02ab\x03", "extension tag without"),
        (
            GOOD[:8]
            + b"\x01\x31\x00\x01a\x00\x0b"
            + struct.pack(">HBBBBBBcBB", 2026, 13, 1, 0, 0, 0, 0, b"+", 9, 0)
            + b"\x03",
            "bad dateTime",
        ),
    ],
)
def test_malformed_input_gets_a_specific_error(raw: bytes, message: str) -> None:
    with pytest.raises(IppDecodeError, match=message):
        decode(raw)


def test_attribute_and_value_counts_are_capped() -> None:
    many_values = b"\x44\x00\x01a\x00\x01b" + b"\x44\x00\x00\x00\x01b" * MAX_VALUES_PER_ATTRIBUTE
    with pytest.raises(IppDecodeError, match="too many values in one attribute"):
        decode(GOOD[:8] + b"\x01" + many_values + b"\x03")
    many_attrs = b"".join(
        b"\x44\x00\x04" + f"{i:04d}".encode() + b"\x00\x01b" for i in range(MAX_ATTRIBUTES + 1)
    )
    with pytest.raises(IppDecodeError, match="more than"):
        decode(GOOD[:8] + b"\x01" + many_attrs + b"\x03")


def test_collection_depth_is_capped() -> None:
    opening = b"\x34\x00\x01c\x00\x00" + (b"\x4a\x00\x00\x00\x01m\x34\x00\x00\x00\x00") * (
        MAX_COLLECTION_DEPTH + 1
    )
    with pytest.raises(IppDecodeError, match="nested deeper"):
        decode(GOOD[:8] + b"\x01" + opening + b"\x03")


def test_encoder_refuses_values_it_cannot_carry() -> None:
    with pytest.raises(IppEncodeError, match="2-byte length"):
        encode(
            IppMessage(0, 1, [Group(1, [Attribute.of("a", ValueTag.OCTET_STRING, b"x" * 70000)])])
        )
    with pytest.raises(IppEncodeError, match="needs an int"):
        encode(IppMessage(0, 1, [Group(1, [Attribute.of("a", ValueTag.INTEGER, "1")])]))


# -- fuzzing ---------------------------------------------------------------------------------

_text = st.text(max_size=20)
_leaf = st.one_of(
    st.tuples(st.just(ValueTag.INTEGER), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(st.just(ValueTag.ENUM), st.integers(0, 2**31 - 1)),
    st.tuples(st.just(ValueTag.BOOLEAN), st.booleans()),
    st.tuples(st.just(ValueTag.KEYWORD), _text),
    st.tuples(st.just(ValueTag.NAME), _text),
    st.tuples(st.just(ValueTag.URI), _text),
    st.tuples(st.just(ValueTag.OCTET_STRING), st.binary(max_size=20)),
    st.tuples(st.just(ValueTag.NO_VALUE), st.none()),
    st.tuples(
        st.just(ValueTag.RANGE_OF_INTEGER),
        st.builds(IntRange, st.integers(-100, 100), st.integers(-100, 100)),
    ),
    st.tuples(
        st.just(ValueTag.RESOLUTION),
        st.builds(Resolution, st.integers(1, 9999), st.integers(1, 9999), st.sampled_from([3, 4])),
    ),
    st.tuples(st.just(ValueTag.TEXT_WITH_LANGUAGE), st.builds(StringWithLanguage, _text, _text)),
)
_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)


def _attr(values: st.SearchStrategy[tuple[int, object]]) -> st.SearchStrategy[Attribute]:
    return st.builds(
        lambda name, vals: Attribute(name, [TaggedValue(t, v) for t, v in vals]),
        _name,
        st.lists(values, min_size=1, max_size=3),
    )


_collection = st.builds(Collection, st.lists(_attr(_leaf), max_size=3))
_value = st.one_of(_leaf, st.tuples(st.just(ValueTag.BEGIN_COLLECTION), _collection))
_message = st.builds(
    IppMessage,
    st.integers(0, 0xFFFF),
    st.integers(-(2**31), 2**31 - 1),
    st.lists(
        st.builds(Group, st.sampled_from([1, 2, 4, 5, 9]), st.lists(_attr(_value), max_size=4)),
        max_size=3,
    ),
    st.binary(max_size=40),
    st.tuples(st.integers(0, 255), st.integers(0, 255)),
)


@pytest.mark.fuzz
@settings(max_examples=200 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_message)
def test_fuzz_round_trip(msg: IppMessage) -> None:
    assert decode(encode(msg)) == msg


@pytest.mark.fuzz
@settings(max_examples=300 * SCALE, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_decode_raises_only_decode_errors(raw: bytes) -> None:
    # anything but IppDecodeError escaping is the failure this test looks for
    with contextlib.suppress(IppDecodeError):
        decode(raw)


@pytest.mark.fuzz
@settings(max_examples=200 * SCALE, deadline=None)
@given(st.integers(0, len(GOOD) - 1), st.binary(min_size=1, max_size=6), st.booleans())
def test_fuzz_decode_mutated_messages(pos: int, junk: bytes, insert: bool) -> None:
    raw = GOOD[:pos] + junk + GOOD[pos + (0 if insert else len(junk)) :]
    try:
        msg = decode(raw)
    except IppDecodeError:
        return
    assert isinstance(msg, IppMessage)

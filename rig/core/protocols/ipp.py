"""IPP/2.0 message encoding and decoding (RFC 8010): shared by the printer and the kiosk client.

A message is a version, an operation id (request) or status code (response), a request id,
attribute groups and trailing document data. Values keep their wire tag, so `name` and
`no-value`, or `keyword` and `name`, stay distinguishable after a round trip.

Decoding is strict and bounded: every malformed input raises `IppDecodeError` (never another
exception), and sizes are capped (attribute count, collection depth) so a hostile request
cannot make the decoder allocate without limit. The printer turns `IppDecodeError` into
`client-error-bad-request`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import IntEnum
from typing import TypeAlias

# -- numbers from RFC 8010 / RFC 8011 / PWG 5100.x -------------------------------------------


class GroupTag(IntEnum):
    """Delimiter tags that open an attribute group (0x03 ends the attributes)."""

    OPERATION = 0x01
    JOB = 0x02
    END = 0x03
    PRINTER = 0x04
    UNSUPPORTED = 0x05
    SUBSCRIPTION = 0x06
    EVENT_NOTIFICATION = 0x07
    RESOURCE = 0x08
    DOCUMENT = 0x09
    SYSTEM = 0x0A


class ValueTag(IntEnum):
    UNSUPPORTED = 0x10
    UNKNOWN = 0x12
    NO_VALUE = 0x13
    NOT_SETTABLE = 0x15
    DELETE_ATTRIBUTE = 0x16
    ADMIN_DEFINE = 0x17
    INTEGER = 0x21
    BOOLEAN = 0x22
    ENUM = 0x23
    OCTET_STRING = 0x30
    DATE_TIME = 0x31
    RESOLUTION = 0x32
    RANGE_OF_INTEGER = 0x33
    BEGIN_COLLECTION = 0x34
    TEXT_WITH_LANGUAGE = 0x35
    NAME_WITH_LANGUAGE = 0x36
    END_COLLECTION = 0x37
    TEXT = 0x41
    NAME = 0x42
    KEYWORD = 0x44
    URI = 0x45
    URI_SCHEME = 0x46
    CHARSET = 0x47
    NATURAL_LANGUAGE = 0x48
    MIME_MEDIA_TYPE = 0x49
    MEMBER_NAME = 0x4A
    EXTENSION = 0x7F


class Operation(IntEnum):
    PRINT_JOB = 0x0002
    PRINT_URI = 0x0003
    VALIDATE_JOB = 0x0004
    CREATE_JOB = 0x0005
    SEND_DOCUMENT = 0x0006
    SEND_URI = 0x0007
    CANCEL_JOB = 0x0008
    GET_JOB_ATTRIBUTES = 0x0009
    GET_JOBS = 0x000A
    GET_PRINTER_ATTRIBUTES = 0x000B
    HOLD_JOB = 0x000C
    RELEASE_JOB = 0x000D
    RESTART_JOB = 0x000E
    PAUSE_PRINTER = 0x0010
    RESUME_PRINTER = 0x0011
    PURGE_JOBS = 0x0012
    CANCEL_MY_JOBS = 0x0039
    CLOSE_JOB = 0x003B
    IDENTIFY_PRINTER = 0x003C


class Status(IntEnum):
    SUCCESSFUL_OK = 0x0000
    SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED = 0x0001
    CLIENT_ERROR_BAD_REQUEST = 0x0400
    CLIENT_ERROR_FORBIDDEN = 0x0401
    CLIENT_ERROR_NOT_POSSIBLE = 0x0404
    CLIENT_ERROR_TIMEOUT = 0x0405
    CLIENT_ERROR_NOT_FOUND = 0x0406
    CLIENT_ERROR_GONE = 0x0407
    CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE = 0x0408
    CLIENT_ERROR_REQUEST_VALUE_TOO_LONG = 0x0409
    CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED = 0x040A
    CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED = 0x040B
    CLIENT_ERROR_URI_SCHEME_NOT_SUPPORTED = 0x040C
    CLIENT_ERROR_CHARSET_NOT_SUPPORTED = 0x040D
    CLIENT_ERROR_CONFLICTING_ATTRIBUTES = 0x040E
    CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED = 0x040F
    CLIENT_ERROR_COMPRESSION_ERROR = 0x0410
    CLIENT_ERROR_DOCUMENT_FORMAT_ERROR = 0x0411
    CLIENT_ERROR_DOCUMENT_ACCESS_ERROR = 0x0412
    SERVER_ERROR_INTERNAL_ERROR = 0x0500
    SERVER_ERROR_OPERATION_NOT_SUPPORTED = 0x0501
    SERVER_ERROR_SERVICE_UNAVAILABLE = 0x0502
    SERVER_ERROR_VERSION_NOT_SUPPORTED = 0x0503
    SERVER_ERROR_DEVICE_ERROR = 0x0504
    SERVER_ERROR_TEMPORARY_ERROR = 0x0505
    SERVER_ERROR_NOT_ACCEPTING_JOBS = 0x0506
    SERVER_ERROR_BUSY = 0x0507
    SERVER_ERROR_JOB_CANCELED = 0x0508
    SERVER_ERROR_MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED = 0x0509


class JobState(IntEnum):
    PENDING = 3
    PENDING_HELD = 4
    PROCESSING = 5
    PROCESSING_STOPPED = 6
    CANCELED = 7
    ABORTED = 8
    COMPLETED = 9

    @property
    def terminal(self) -> bool:
        return self >= JobState.CANCELED


class PrinterState(IntEnum):
    IDLE = 3
    PROCESSING = 4
    STOPPED = 5


#: Tags whose value is a UTF-8 (or US-ASCII) string: RFC 8010 3.5.2's character-string
#: range 0x40-0x5F (the reserved tags in it are no ValueTag and stay raw bytes).
STRING_TAGS = frozenset(tag for tag in ValueTag if 0x40 <= tag <= 0x5F)

# Limits that keep the decoder bounded; generous for any real client.
MAX_ATTRIBUTES = 2000
MAX_VALUES_PER_ATTRIBUTE = 1000
MAX_COLLECTION_DEPTH = 8
MAX_NAME_LENGTH = 255


class IppDecodeError(ValueError):
    """A message that is not valid IPP; `offset` is where the decoder gave up."""

    def __init__(self, message: str, offset: int = 0):
        super().__init__(f"{message} (at byte {offset})")
        self.offset = offset


class IppEncodeError(ValueError):
    """A value that cannot be put on the wire (too long, wrong type for its tag)."""


# -- value types ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    x: int
    y: int
    units: int = 3  # 3 = dots per inch, 4 = dots per centimetre


@dataclass(frozen=True)
class IntRange:
    lower: int
    upper: int


@dataclass(frozen=True)
class StringWithLanguage:
    language: str
    text: str


@dataclass
class Collection:
    """An ordered collection value (begCollection ... endCollection)."""

    attributes: list[Attribute] = field(default_factory=list)

    def get(self, name: str) -> Attribute | None:
        return next((attr for attr in self.attributes if attr.name == name), None)


Value: TypeAlias = (
    int
    | bool
    | str
    | bytes
    | datetime
    | Resolution
    | IntRange
    | StringWithLanguage
    | Collection
    | None
)


@dataclass
class TaggedValue:
    tag: int
    value: Value


@dataclass
class Attribute:
    name: str
    values: list[TaggedValue]

    @classmethod
    def of(cls, name: str, tag: int, *values: Value) -> Attribute:
        return cls(name, [TaggedValue(tag, v) for v in values])

    @property
    def tag(self) -> int:
        return self.values[0].tag if self.values else ValueTag.NO_VALUE

    @property
    def value(self) -> Value:
        """The first value (most attributes are single-valued)."""
        return self.values[0].value if self.values else None

    def all(self) -> list[Value]:
        return [v.value for v in self.values]


@dataclass
class Group:
    tag: int
    attributes: list[Attribute] = field(default_factory=list)

    def get(self, name: str) -> Attribute | None:
        return next((attr for attr in self.attributes if attr.name == name), None)

    def add(self, name: str, tag: int, *values: Value) -> Attribute:
        attr = Attribute.of(name, tag, *values)
        self.attributes.append(attr)
        return attr


@dataclass
class IppMessage:
    """A request (code = operation id) or a response (code = status code)."""

    code: int
    request_id: int
    groups: list[Group] = field(default_factory=list)
    data: bytes = b""
    version: tuple[int, int] = (2, 0)

    def group(self, tag: int) -> Group | None:
        return next((group for group in self.groups if group.tag == tag), None)

    def groups_of(self, tag: int) -> list[Group]:
        return [g for g in self.groups if g.tag == tag]

    def add_group(self, tag: int) -> Group:
        group = Group(tag)
        self.groups.append(group)
        return group

    def get(self, name: str, group_tag: int | None = None) -> Attribute | None:
        for group in self.groups:
            if group_tag is not None and group.tag != group_tag:
                continue
            found = group.get(name)
            if found is not None:
                return found
        return None

    @property
    def operation_attributes(self) -> Group:
        return self.group(GroupTag.OPERATION) or Group(GroupTag.OPERATION)


def request(operation: int, request_id: int, printer_uri: str) -> IppMessage:
    """A request with the three attributes every printer operation starts with."""
    msg = IppMessage(operation, request_id)
    op = msg.add_group(GroupTag.OPERATION)
    op.add("attributes-charset", ValueTag.CHARSET, "utf-8")
    op.add("attributes-natural-language", ValueTag.NATURAL_LANGUAGE, "en")
    op.add("printer-uri", ValueTag.URI, printer_uri)
    return msg


# -- encoding -------------------------------------------------------------------------------


def _short(buf: bytearray, data: bytes) -> None:
    if len(data) > 0xFFFF:
        raise IppEncodeError(f"a value of {len(data)} bytes does not fit IPP's 2-byte length")
    buf += struct.pack(">H", len(data))
    buf += data


def _encode_datetime(value: datetime) -> bytes:
    offset = value.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = b"+" if minutes >= 0 else b"-"
    minutes = abs(minutes)
    return (
        struct.pack(
            ">HBBBBBB",
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond // 100000,
        )
        + sign
        + bytes([minutes // 60, minutes % 60])
    )


def _encode_value(tag: int, value: Value) -> bytes:
    if tag in (ValueTag.INTEGER, ValueTag.ENUM):
        if not isinstance(value, int) or isinstance(value, bool):
            raise IppEncodeError(f"tag 0x{tag:02x} needs an int, not {value!r}")
        return struct.pack(">i", value)
    if tag == ValueTag.BOOLEAN:
        return b"\x01" if value else b"\x00"
    if tag == ValueTag.DATE_TIME:
        if not isinstance(value, datetime):
            raise IppEncodeError(f"dateTime needs a datetime, not {value!r}")
        return _encode_datetime(value)
    if tag == ValueTag.RESOLUTION:
        if not isinstance(value, Resolution):
            raise IppEncodeError(f"resolution needs a Resolution, not {value!r}")
        return struct.pack(">iib", value.x, value.y, value.units)
    if tag == ValueTag.RANGE_OF_INTEGER:
        if not isinstance(value, IntRange):
            raise IppEncodeError(f"rangeOfInteger needs an IntRange, not {value!r}")
        return struct.pack(">ii", value.lower, value.upper)
    if tag in (ValueTag.TEXT_WITH_LANGUAGE, ValueTag.NAME_WITH_LANGUAGE):
        if not isinstance(value, StringWithLanguage):
            raise IppEncodeError(f"tag 0x{tag:02x} needs a StringWithLanguage")
        out = bytearray()
        _short(out, value.language.encode())
        _short(out, value.text.encode())
        return bytes(out)
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    raise IppEncodeError(f"no wire form for {value!r} under tag 0x{tag:02x}")


def _encode_one(buf: bytearray, name: str, tv: TaggedValue) -> None:
    tag = int(tv.tag)
    if tag > 0xFF:
        buf.append(ValueTag.EXTENSION)
        _short(buf, name.encode())
        inner = _encode_value(tag, tv.value)
        _short(buf, struct.pack(">I", tag) + inner)
        return
    buf.append(tag)
    _short(buf, name.encode())
    if tag == ValueTag.BEGIN_COLLECTION:
        if not isinstance(tv.value, Collection):
            raise IppEncodeError(f"collection {name!r} needs a Collection value")
        _short(buf, b"")
        for member in tv.value.attributes:
            buf.append(ValueTag.MEMBER_NAME)
            _short(buf, b"")
            _short(buf, member.name.encode())
            for mv in member.values:
                _encode_one(buf, "", mv)
        buf.append(ValueTag.END_COLLECTION)
        _short(buf, b"")
        _short(buf, b"")
        return
    _short(buf, _encode_value(tag, tv.value))


def encode(msg: IppMessage) -> bytes:
    """The wire form of a message, document data included."""
    buf = bytearray(struct.pack(">BBHi", msg.version[0], msg.version[1], msg.code, msg.request_id))
    for group in msg.groups:
        buf.append(group.tag)
        for attr in group.attributes:
            if not attr.values:
                raise IppEncodeError(f"attribute {attr.name!r} has no value (use tag no-value)")
            for i, tv in enumerate(attr.values):
                _encode_one(buf, attr.name if i == 0 else "", tv)
    buf.append(GroupTag.END)
    buf += msg.data
    return bytes(buf)


# -- decoding -------------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0
        self.attributes = 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise IppDecodeError(f"truncated {what}: need {n} bytes", self.pos)
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def short(self, what: str) -> int:
        return int.from_bytes(self.take(2, what), "big")

    def peek(self) -> int | None:
        return self.data[self.pos] if self.pos < len(self.data) else None


def _text(raw: bytes, what: str, offset: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IppDecodeError(f"{what} is not UTF-8", offset) from exc


def _decode_datetime(raw: bytes, offset: int) -> datetime:
    year, month, day, hour, minute, second, deci = struct.unpack(">HBBBBBB", raw[:8])
    sign, off_h, off_m = raw[8:9], raw[9], raw[10]
    if sign not in (b"+", b"-") or off_h > 14 or off_m > 59 or deci > 9:
        raise IppDecodeError("bad dateTime time zone", offset)
    delta = timedelta(hours=off_h, minutes=off_m)
    tz = timezone(delta if sign == b"+" else -delta)
    try:
        return datetime(year, month, day, hour, minute, second, deci * 100000, tzinfo=tz)
    except ValueError as exc:
        raise IppDecodeError(f"bad dateTime: {exc}", offset) from exc


def _decode_value(r: _Reader, tag: int, raw: bytes, offset: int, depth: int) -> Value:
    """One value; a collection (at nesting `depth`) is read on from `r`."""
    size = len(raw)
    if tag == ValueTag.BEGIN_COLLECTION:
        return _decode_collection(r, depth, offset)
    if 0x10 <= tag <= 0x1F:
        # out-of-band values carry no data; tolerate junk as RFC 8010 says to ignore it
        return None
    if tag in (ValueTag.INTEGER, ValueTag.ENUM):
        if size != 4:
            raise IppDecodeError(f"integer value of {size} bytes", offset)
        return int.from_bytes(raw, "big", signed=True)
    if tag == ValueTag.BOOLEAN:
        if size != 1 or raw[0] > 1:
            raise IppDecodeError("boolean must be one byte 0 or 1", offset)
        return raw[0] == 1
    if tag == ValueTag.DATE_TIME:
        if size != 11:
            raise IppDecodeError(f"dateTime of {size} bytes", offset)
        return _decode_datetime(raw, offset)
    if tag == ValueTag.RESOLUTION:
        if size != 9:
            raise IppDecodeError(f"resolution of {size} bytes", offset)
        x, y, units = struct.unpack(">iib", raw)
        return Resolution(x, y, units)
    if tag == ValueTag.RANGE_OF_INTEGER:
        if size != 8:
            raise IppDecodeError(f"rangeOfInteger of {size} bytes", offset)
        lower, upper = struct.unpack(">ii", raw)
        return IntRange(lower, upper)
    if tag in (ValueTag.TEXT_WITH_LANGUAGE, ValueTag.NAME_WITH_LANGUAGE):
        sub = _Reader(raw)
        lang = sub.take(sub.short("language length"), "language")
        text = sub.take(sub.short("text length"), "text")
        if sub.pos != size:
            raise IppDecodeError("trailing bytes in a string-with-language", offset)
        return StringWithLanguage(_text(lang, "language", offset), _text(text, "text", offset))
    if tag in STRING_TAGS:
        return _text(raw, f"value of tag 0x{tag:02x}", offset)
    # octetString and every tag we do not know stay raw bytes (RFC 8010 3.5.2)
    return bytes(raw)


def _read_raw(r: _Reader) -> tuple[int, str, bytes, int]:
    """One (tag, name, raw value) triple, counted against the cap; extension tags resolved."""
    start = r.pos
    tag = r.byte("value tag")
    name_len = r.short("name length")
    if name_len > MAX_NAME_LENGTH:
        raise IppDecodeError(f"attribute name of {name_len} bytes", start)
    name = _text(r.take(name_len, "name"), "attribute name", start)
    raw = r.take(r.short("value length"), "value")
    if tag == ValueTag.EXTENSION:
        if len(raw) < 4:
            raise IppDecodeError("extension tag without its 4-byte tag", start)
        tag = struct.unpack(">I", raw[:4])[0]
        if tag > 0x7FFFFFFF or tag <= 0xFF:
            raise IppDecodeError(f"bad extension tag 0x{tag:x}", start)
        raw = raw[4:]
    r.attributes += 1
    if r.attributes > MAX_ATTRIBUTES:
        raise IppDecodeError(f"more than {MAX_ATTRIBUTES} attribute values", start)
    return tag, name, raw, start


def _decode_collection(r: _Reader, depth: int, start: int) -> Collection:
    if depth > MAX_COLLECTION_DEPTH:
        raise IppDecodeError(f"collections nested deeper than {MAX_COLLECTION_DEPTH}", start)
    coll = Collection()
    current: Attribute | None = None
    while True:
        tag, name, raw, pos = _read_raw(r)
        if name:
            raise IppDecodeError("a collection member must have an empty name", pos)
        closes_member = tag in (ValueTag.END_COLLECTION, ValueTag.MEMBER_NAME)
        if closes_member and current is not None and not current.values:
            raise IppDecodeError(f"member {current.name!r} has no value", pos)
        if tag == ValueTag.END_COLLECTION:
            return coll
        if tag == ValueTag.MEMBER_NAME:
            member = _text(raw, "member name", pos)
            if not member:
                raise IppDecodeError("empty member name", pos)
            current = Attribute(member, [])
            coll.attributes.append(current)
            continue
        if tag < 0x10:
            raise IppDecodeError("collection not closed before a delimiter tag", pos)
        if current is None:
            raise IppDecodeError("collection value before any member name", pos)
        if len(current.values) >= MAX_VALUES_PER_ATTRIBUTE:
            raise IppDecodeError("too many values in one member", pos)
        current.values.append(TaggedValue(tag, _decode_value(r, tag, raw, pos, depth + 1)))


def decode(data: bytes) -> IppMessage:
    """Parse a whole IPP message; raises IppDecodeError for anything malformed."""
    r = _Reader(data)
    major = r.byte("version")
    minor = r.byte("version")
    code = r.short("operation or status code")
    (request_id,) = struct.unpack(">i", r.take(4, "request id"))
    msg = IppMessage(code, request_id, version=(major, minor))
    group: Group | None = None
    current: Attribute | None = None
    while True:
        nxt = r.peek()
        if nxt is None:
            raise IppDecodeError("no end-of-attributes tag", r.pos)
        if nxt < 0x10:
            pos = r.pos
            r.pos += 1
            if nxt == GroupTag.END:
                break
            if nxt == 0x00 or nxt > max(GroupTag):
                raise IppDecodeError(f"unknown delimiter tag 0x{nxt:02x}", pos)
            group = msg.add_group(nxt)
            current = None
            continue
        tag, name, raw, pos = _read_raw(r)
        if group is None:
            raise IppDecodeError("attribute before any group tag", pos)
        if tag in (ValueTag.END_COLLECTION, ValueTag.MEMBER_NAME):
            raise IppDecodeError("collection member outside a collection", pos)
        value = _decode_value(r, tag, raw, pos, 1)
        if name:
            current = Attribute(name, [TaggedValue(tag, value)])
            group.attributes.append(current)
        else:
            if current is None:
                raise IppDecodeError("additional value without an attribute", pos)
            if len(current.values) >= MAX_VALUES_PER_ATTRIBUTE:
                raise IppDecodeError("too many values in one attribute", pos)
            current.values.append(TaggedValue(tag, value))
    msg.data = bytes(data[r.pos :])
    return msg


def status_name(code: int) -> str:
    try:
        return Status(code).name.lower().replace("_", "-")
    except ValueError:
        return f"0x{code:04x}"

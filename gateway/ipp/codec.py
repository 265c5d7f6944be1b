"""Sans-IO encoder and incremental decoder for IPP messages (RFC 8010 section 3).

The decoder is fed bytes as they arrive and returns the message once it has seen the
end-of-attributes tag; whatever followed that tag (the start of the document) is left in
`Decoder.rest` for the caller to stream on. Every length is checked against the bytes present,
the attribute part is bounded by `max_bytes`, collections are tracked on an explicit stack with a
depth limit (no recursion), and every step consumes at least one byte, so no input can make it
loop or grow without bound.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .enums import OUT_OF_BAND_TAGS, STRING_TAGS, Tag
from .model import (
    Attribute,
    Collection,
    Group,
    Message,
    Range,
    Resolution,
    StringWithLanguage,
    Value,
)

DEFAULT_MAX_BYTES = 1 << 20
DEFAULT_MAX_DEPTH = 16

_HEADER = struct.Struct(">BBHI")
_INT = struct.Struct(">i")
_U16 = struct.Struct(">H")
_RESOLUTION = struct.Struct(">iiB")
_RANGE = struct.Struct(">ii")
_DATE = struct.Struct(">HBBBBBBcBB")


class IppDecodeError(ValueError):
    """The bytes are not a well-formed IPP message."""


class IppTooLarge(IppDecodeError):
    """The attribute part is larger than the configured limit."""


# --- values -------------------------------------------------------------------------------


def decode_value(tag: int, raw: bytes) -> object:
    """The Python value of one attribute value; raises IppDecodeError on a bad length."""
    if tag in STRING_TAGS:
        return raw.decode("utf-8", "surrogateescape")
    if tag in (Tag.INTEGER, Tag.ENUM):
        if len(raw) != 4:
            raise IppDecodeError(f"integer value of {len(raw)} octets")
        return _INT.unpack(raw)[0]
    if tag == Tag.BOOLEAN:
        if len(raw) != 1 or raw[0] > 1:
            raise IppDecodeError("boolean value is not one octet of 0 or 1")
        return raw[0] == 1
    if tag in OUT_OF_BAND_TAGS:
        return None if not raw else raw
    if tag == Tag.OCTET_STRING:
        return raw
    if tag == Tag.DATE_TIME:
        return _decode_date(raw)
    if tag == Tag.RESOLUTION:
        if len(raw) != 9:
            raise IppDecodeError(f"resolution value of {len(raw)} octets")
        x, y, units = _RESOLUTION.unpack(raw)
        return Resolution(x, y, units)
    if tag == Tag.RANGE_OF_INTEGER:
        if len(raw) != 8:
            raise IppDecodeError(f"rangeOfInteger value of {len(raw)} octets")
        lower, upper = _RANGE.unpack(raw)
        return Range(lower, upper)
    if tag in (Tag.TEXT_WITH_LANGUAGE, Tag.NAME_WITH_LANGUAGE):
        return _decode_with_language(raw)
    return raw  # unknown or extension tag: kept exactly as received


def _decode_date(raw: bytes) -> object:
    if len(raw) != 11:
        raise IppDecodeError(f"dateTime value of {len(raw)} octets")
    year, month, day, hour, minute, second, decis, sign, off_h, off_m = _DATE.unpack(raw)
    try:
        if sign not in (b"+", b"-") or decis > 9 or off_m > 59:
            raise ValueError
        offset = timedelta(hours=off_h, minutes=off_m) * (1 if sign == b"+" else -1)
        when = datetime(year, month, day, hour, minute, second, decis * 100_000, timezone(offset))
    except ValueError:
        return raw  # a date no calendar has: keep the octets so it still round-trips
    if sign == b"-" and offset == timedelta(0):
        return raw  # "-0000" is not representable as a datetime offset
    return when


def _decode_with_language(raw: bytes) -> StringWithLanguage:
    if len(raw) < 4:
        raise IppDecodeError("textWithLanguage value too short")
    lang_len = _U16.unpack_from(raw, 0)[0]
    if 2 + lang_len + 2 > len(raw):
        raise IppDecodeError("textWithLanguage language overruns the value")
    text_len = _U16.unpack_from(raw, 2 + lang_len)[0]
    if 4 + lang_len + text_len != len(raw):
        raise IppDecodeError("textWithLanguage lengths do not add up")
    lang = raw[2 : 2 + lang_len].decode("utf-8", "surrogateescape")
    text = raw[4 + lang_len :].decode("utf-8", "surrogateescape")
    return StringWithLanguage(text, lang)


def encode_value(tag: int, value: object) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)  # octetString, unknown tags, or octets kept verbatim
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x01" if value else b"\x00"
    if isinstance(value, int):
        return _INT.pack(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, StringWithLanguage):
        lang = value.language.encode("utf-8", "surrogateescape")
        text = value.text.encode("utf-8", "surrogateescape")
        return _U16.pack(len(lang)) + lang + _U16.pack(len(text)) + text
    if isinstance(value, Resolution):
        return _RESOLUTION.pack(value.x, value.y, value.units)
    if isinstance(value, Range):
        return _RANGE.pack(value.lower, value.upper)
    if isinstance(value, datetime):
        return _encode_date(value)
    raise TypeError(f"cannot encode {type(value).__name__} with tag 0x{tag:02x}")


def _encode_date(when: datetime) -> bytes:
    offset = when.utcoffset() or timedelta(0)
    sign = b"-" if offset < timedelta(0) else b"+"
    minutes = abs(int(offset.total_seconds())) // 60
    return _DATE.pack(
        when.year,
        when.month,
        when.day,
        when.hour,
        when.minute,
        when.second,
        when.microsecond // 100_000,
        sign,
        minutes // 60,
        minutes % 60,
    )


# --- encoder ------------------------------------------------------------------------------


def _item(tag: int, name: str, raw: bytes) -> bytes:
    name_bytes = name.encode("utf-8", "surrogateescape")  # names decode the same way
    if len(name_bytes) > 0xFFFF or len(raw) > 0xFFFF:
        raise ValueError(f"attribute {name!r} is longer than IPP allows")
    return bytes((tag,)) + _U16.pack(len(name_bytes)) + name_bytes + _U16.pack(len(raw)) + raw


def encode_attribute(attribute: Attribute) -> bytes:
    out = bytearray()
    name = attribute.name
    for value in attribute.values:
        if value.tag == Tag.BEGIN_COLLECTION and isinstance(value.value, Collection):
            out += _item(Tag.BEGIN_COLLECTION, name, b"")
            for member in value.value.members:
                member_name = member.name.encode("utf-8", "surrogateescape")
                out += _item(Tag.MEMBER_ATTR_NAME, "", member_name)
                out += encode_attribute(Attribute("", member.values))
            out += _item(Tag.END_COLLECTION, "", b"")
        else:
            out += _item(value.tag, name, encode_value(value.tag, value.value))
        name = ""  # additional values carry an empty name
    return bytes(out)


def encode_attributes(attributes: tuple[Attribute, ...] | list[Attribute]) -> bytes:
    return b"".join(encode_attribute(a) for a in attributes)


def encode_group(group: Group) -> bytes:
    return bytes((group.tag,)) + encode_attributes(group.attributes)


def encode_header(version: tuple[int, int], code: int, request_id: int) -> bytes:
    return _HEADER.pack(version[0], version[1], code, request_id)


def encode(message: Message) -> bytes:
    parts = [encode_header(message.version, message.code, message.request_id)]
    parts.extend(encode_group(g) for g in message.groups)
    parts.append(bytes((Tag.END,)))
    return b"".join(parts)


# --- decoder ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Frame:
    """A collection being decoded; `target` is the value list its result is appended to."""

    target: list[Value]
    members: list[Attribute] = field(default_factory=list)
    member_name: str | None = None
    member_values: list[Value] = field(default_factory=list)

    def close_member(self) -> None:
        if self.member_name is None:
            return
        if not self.member_values:
            raise IppDecodeError(f"collection member {self.member_name!r} has no value")
        self.members.append(Attribute(self.member_name, tuple(self.member_values)))
        self.member_name = None
        self.member_values = []


class Decoder:
    """Incremental decoder: call `feed` until it returns the message."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH):
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.rest = b""
        self.message: Message | None = None
        self.length = 0  # of the attribute part, once the message is complete
        self._buf = bytearray()
        self._consumed = 0
        self._header: tuple[int, int, int, int] | None = None
        self._groups: list[Group] = []
        self._group_tag: int | None = None
        self._group_attrs: list[Attribute] = []
        self._attr_name: str | None = None
        self._attr_values: list[Value] = []
        self._stack: list[_Frame] = []

    def feed(self, data: bytes) -> Message | None:
        if self.message is not None:
            self.rest += data
            return self.message
        # Take in no more than the limit allows, so neither the buffer nor the attribute part
        # can pass max_bytes however large the chunk; whatever follows the message is kept.
        room = self.max_bytes - self._consumed - len(self._buf)
        self._buf += data[:room]
        pos = self._parse()
        del self._buf[:pos]
        self._consumed += pos
        if self.message is not None:
            self.rest += data[room:]
            return self.message
        if len(data) > room:
            raise IppTooLarge(f"attribute part exceeds {self.max_bytes} octets")
        return None

    def finish(self) -> Message:
        """The message, or an error if the input ended before end-of-attributes."""
        if self.message is None:
            raise IppDecodeError("message ends before end-of-attributes-tag")
        return self.message

    def _parse(self) -> int:
        buf = self._buf
        pos = 0
        if self._header is None:
            if len(buf) < 8:
                return 0
            self._header = _HEADER.unpack_from(buf, 0)
            pos = 8
        while pos < len(buf):
            tag = buf[pos]
            if tag < 0x10:
                self._delimiter(tag)
                pos += 1
                if tag == Tag.END:
                    self.length = self._consumed + pos
                    self.rest = bytes(buf[pos:])
                    return len(buf)
                continue
            end = self._value_item(buf, pos)
            if end is None:
                break
            pos = end
        return pos

    def _delimiter(self, tag: int) -> None:
        if self._stack:
            raise IppDecodeError("collection not closed before a delimiter tag")
        if tag == 0x00:
            raise IppDecodeError("reserved delimiter tag 0x00")
        self._close_group()
        if tag == Tag.END:
            assert self._header is not None
            major, minor, code, request_id = self._header
            self.message = Message((major, minor), code, request_id, tuple(self._groups))
        else:
            self._group_tag = tag

    def _value_item(self, buf: bytearray, pos: int) -> int | None:
        """Decode one tag/name/value item at pos; None when more bytes are needed."""
        if pos + 3 > len(buf):
            return None
        tag = buf[pos]
        name_len: int = _U16.unpack_from(buf, pos + 1)[0]
        value_at = pos + 3 + name_len + 2
        if value_at > len(buf):
            return None
        value_len: int = _U16.unpack_from(buf, value_at - 2)[0]
        end = value_at + value_len
        if end > len(buf):
            return None
        name = bytes(buf[pos + 3 : pos + 3 + name_len]).decode("utf-8", "surrogateescape")
        self._item(tag, name, bytes(buf[value_at:end]))
        return end

    def _item(self, tag: int, name: str, raw: bytes) -> None:
        if self._group_tag is None:
            raise IppDecodeError("attribute before any group delimiter")
        if self._stack:
            self._collection_item(tag, name, raw)
            return
        if tag in (Tag.END_COLLECTION, Tag.MEMBER_ATTR_NAME):
            raise IppDecodeError(f"tag 0x{tag:02x} outside a collection")
        if name:
            self._close_attribute()
            self._attr_name = name
        elif self._attr_name is None:
            raise IppDecodeError("additional value without an attribute")
        self._add_value(tag, raw, self._attr_values)

    def _collection_item(self, tag: int, name: str, raw: bytes) -> None:
        frame = self._stack[-1]
        if name:
            raise IppDecodeError("named attribute inside a collection")
        if tag == Tag.MEMBER_ATTR_NAME:
            frame.close_member()
            if not raw:
                raise IppDecodeError("empty collection member name")
            frame.member_name = raw.decode("utf-8", "surrogateescape")
        elif tag == Tag.END_COLLECTION:
            frame.close_member()
            self._stack.pop()
            frame.target.append(Value(Tag.BEGIN_COLLECTION, Collection(tuple(frame.members))))
        elif frame.member_name is None:
            raise IppDecodeError("collection value without a member name")
        else:
            self._add_value(tag, raw, frame.member_values)

    def _add_value(self, tag: int, raw: bytes, target: list[Value]) -> None:
        if tag == Tag.BEGIN_COLLECTION:
            if len(self._stack) >= self.max_depth:
                raise IppDecodeError(f"collections nested deeper than {self.max_depth}")
            self._stack.append(_Frame(target))
        else:
            target.append(Value(tag, decode_value(tag, raw)))

    def _close_attribute(self) -> None:
        if self._attr_name is None:
            return
        if not self._attr_values:
            raise IppDecodeError(f"attribute {self._attr_name!r} has no value")
        self._group_attrs.append(Attribute(self._attr_name, tuple(self._attr_values)))
        self._attr_name = None
        self._attr_values = []

    def _close_group(self) -> None:
        self._close_attribute()
        if self._group_tag is not None:
            self._groups.append(Group(self._group_tag, tuple(self._group_attrs)))
        self._group_tag = None
        self._group_attrs = []


def decode(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Message, bytes]:
    """Decode a whole message held in memory; returns it and the bytes after it."""
    decoder = Decoder(max_bytes=max_bytes)
    decoder.feed(data)
    return decoder.finish(), decoder.rest

"""The typed attribute model shared by the decoder, the encoder and the rest of printgate.

Every value carries the tag it was received with (or the tag its producer chose), so a message
decodes and re-encodes to the same bytes. The Python type of `Value.value` follows the tag:

    integer, enum                  int
    boolean                        bool
    text, name, keyword, uri, ...  str (undecodable bytes kept via surrogateescape)
    textWithLanguage, name...      StringWithLanguage
    octetString                    bytes
    dateTime                       datetime.datetime (timezone aware)
    resolution                     Resolution
    rangeOfInteger                 Range
    begCollection                  Collection
    out-of-band (no-value, ...)    None
    any other tag                  bytes, exactly as received
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from .enums import Tag


@dataclass(frozen=True, slots=True)
class StringWithLanguage:
    text: str
    language: str


@dataclass(frozen=True, slots=True)
class Resolution:
    x: int
    y: int
    units: int  # 3 = dots per inch, 4 = dots per centimetre

    DPI = 3
    DPCM = 4


@dataclass(frozen=True, slots=True)
class Range:
    lower: int
    upper: int


@dataclass(frozen=True, slots=True)
class Value:
    tag: int
    value: object


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    values: tuple[Value, ...]

    @property
    def tag(self) -> int:
        return self.values[0].tag

    @property
    def value(self) -> object:
        """The first value, which is all a single-valued attribute has."""
        return self.values[0].value

    def python_values(self) -> list[object]:
        return [v.value for v in self.values]

    def strings(self) -> list[str]:
        """The values that are strings (keywords, names, text...), in order."""
        out: list[str] = []
        for v in self.values:
            if isinstance(v.value, str):
                out.append(v.value)
            elif isinstance(v.value, StringWithLanguage):
                out.append(v.value.text)
        return out

    def text(self) -> str | None:
        values = self.strings()
        return values[0] if values else None

    def integer(self) -> int | None:
        v = self.values[0].value
        return v if isinstance(v, int) and not isinstance(v, bool) else None


@dataclass(frozen=True, slots=True)
class Collection:
    members: tuple[Attribute, ...] = ()

    def get(self, name: str) -> Attribute | None:
        for member in self.members:
            if member.name == name:
                return member
        return None

    def __iter__(self) -> Iterator[Attribute]:
        return iter(self.members)


@dataclass(frozen=True, slots=True)
class Group:
    tag: int
    attributes: tuple[Attribute, ...] = ()

    def get(self, name: str) -> Attribute | None:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        return None

    def __contains__(self, name: object) -> bool:
        return any(a.name == name for a in self.attributes)

    def __iter__(self) -> Iterator[Attribute]:
        return iter(self.attributes)

    def names(self) -> list[str]:
        return [a.name for a in self.attributes]


@dataclass(frozen=True, slots=True)
class Message:
    """A request (code = operation-id) or a response (code = status-code)."""

    version: tuple[int, int]
    code: int
    request_id: int
    groups: tuple[Group, ...] = field(default_factory=tuple)

    def group(self, tag: int) -> Group | None:
        for group in self.groups:
            if group.tag == tag:
                return group
        return None

    def groups_of(self, tag: int) -> list[Group]:
        return [g for g in self.groups if g.tag == tag]

    @property
    def operation(self) -> Group:
        return self.group(Tag.OPERATION) or Group(Tag.OPERATION)


# Constructors: callers name the tag once per attribute and pass plain Python values.


def attr(name: str, tag: int, *values: object) -> Attribute:
    if not values:
        raise ValueError(f"attribute {name!r} needs at least one value")
    return Attribute(name, tuple(Value(tag, v) for v in values))


def keyword(name: str, *values: str) -> Attribute:
    return attr(name, Tag.KEYWORD, *values)


def integer(name: str, *values: int) -> Attribute:
    return attr(name, Tag.INTEGER, *values)


def enum(name: str, *values: int) -> Attribute:
    return attr(name, Tag.ENUM, *values)


def boolean(name: str, value: bool) -> Attribute:
    return attr(name, Tag.BOOLEAN, value)


def text(name: str, *values: str) -> Attribute:
    return attr(name, Tag.TEXT, *values)


def name_(name: str, *values: str) -> Attribute:
    return attr(name, Tag.NAME, *values)


def uri(name: str, *values: str) -> Attribute:
    return attr(name, Tag.URI, *values)


def mime(name: str, *values: str) -> Attribute:
    return attr(name, Tag.MIME_MEDIA_TYPE, *values)


def charset(name: str, *values: str) -> Attribute:
    return attr(name, Tag.CHARSET, *values)


def language(name: str, *values: str) -> Attribute:
    return attr(name, Tag.NATURAL_LANGUAGE, *values)


def date_time(name: str, value: datetime) -> Attribute:
    return attr(name, Tag.DATE_TIME, value)


def range_(name: str, *values: Range) -> Attribute:
    return attr(name, Tag.RANGE_OF_INTEGER, *values)


def resolution(name: str, *values: Resolution) -> Attribute:
    return attr(name, Tag.RESOLUTION, *values)


def collection(name: str, *values: Collection) -> Attribute:
    return attr(name, Tag.BEGIN_COLLECTION, *values)


def members(*attributes: Attribute) -> Collection:
    return Collection(tuple(attributes))


def out_of_band(name: str, tag: int = Tag.NO_VALUE) -> Attribute:
    return Attribute(name, (Value(tag, None),))


def group(tag: int, attributes: Iterable[Attribute]) -> Group:
    return Group(tag, tuple(attributes))

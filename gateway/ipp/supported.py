"""Does a printer's `xxx-supported` attribute admit a job's `xxx` value? Shared by request
validation (attribute fidelity) and the forwarder (pass on only what the printer takes)."""

from __future__ import annotations

from . import Attribute, Group, Range, Tag, Value
from . import model as m
from .codec import decode, encode_attributes, encode_header

# Job attributes whose supported values live under another name.
SUPPORTED_NAME = {"media-col": "media-col-supported"}


def unsupported_part(attribute: Attribute, printer: Group) -> Attribute | None:
    """The values of `attribute` the printer does not support (all of them if it does not know
    the attribute at all), or None when everything is supported."""
    if attribute.name == "media-col":
        return _unsupported_media_col(attribute, printer)
    supported = printer.get(SUPPORTED_NAME.get(attribute.name, f"{attribute.name}-supported"))
    if supported is None:
        creation = printer.get("job-creation-attributes-supported")
        if creation is not None and attribute.name in creation.strings():
            return None
        return attribute
    bad = tuple(v for v in attribute.values if not _admits(supported, v))
    return Attribute(attribute.name, bad) if bad else None


def _admits(supported: Attribute, value: Value) -> bool:
    if value.tag in (Tag.NO_VALUE, Tag.DELETE_ATTRIBUTE):
        return True
    if supported.tag == Tag.BOOLEAN:
        return supported.value is True
    wanted = value.value
    for option in supported.values:
        if isinstance(option.value, Range):
            if isinstance(wanted, int) and option.value.lower <= wanted <= option.value.upper:
                return True
            if isinstance(wanted, Range) and (
                option.value.lower <= wanted.lower <= wanted.upper <= option.value.upper
            ):
                return True
        elif option.value == wanted:
            return True
    return False


def _unsupported_media_col(attribute: Attribute, printer: Group) -> Attribute | None:
    members = printer.get("media-col-supported")
    if members is None:
        return attribute
    known = set(members.strings())
    bad = []
    for value in attribute.values:
        collection = value.value
        if not isinstance(collection, m.Collection) or any(
            member.name not in known for member in collection
        ):
            bad.append(value)
    return Attribute(attribute.name, tuple(bad)) if bad else None


def encode_template(attributes: list[Attribute]) -> bytes:
    """A job's accepted template attributes, kept in the store with their tags intact."""
    return encode_attributes(attributes)


def decode_template(blob: bytes) -> list[Attribute]:
    if not blob:
        return []
    message, _ = decode(encode_header((2, 0), 0, 0) + bytes((Tag.JOB,)) + blob + bytes((Tag.END,)))
    group = message.group(Tag.JOB)
    return list(group.attributes) if group else []

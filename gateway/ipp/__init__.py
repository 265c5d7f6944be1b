"""Sans-IO IPP codec: constants, the attribute model, the encoder and the decoder."""

from .codec import Decoder, IppDecodeError, IppTooLarge, decode, encode
from .enums import JobState, Op, PrinterState, Status, Tag
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

__all__ = [
    "Attribute",
    "Collection",
    "Decoder",
    "Group",
    "IppDecodeError",
    "IppTooLarge",
    "JobState",
    "Message",
    "Op",
    "PrinterState",
    "Range",
    "Resolution",
    "Status",
    "StringWithLanguage",
    "Tag",
    "Value",
    "decode",
    "encode",
]

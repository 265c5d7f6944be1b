"""What a job's IPP attributes say about the paper it will use: copies, page-ranges, number-up,
sides, print-color-mode, media / media-col, in the form document analysis works with."""

from __future__ import annotations

import re

from ..ipp.model import Attribute, Collection, Range
from .figures import JobOptions, MediaSize

# PWG 5101.1 self-describing names end in the size: iso_a4_210x297mm, na_letter_8.5x11in.
PWG_SIZE = re.compile(r"_(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)(mm|in)$")
MM_PER_UNIT = {"mm": 1.0, "in": 25.4}
# Older names clients still send.
LEGACY_SIZES = {
    "a0": (841.0, 1189.0),
    "a1": (594.0, 841.0),
    "a2": (420.0, 594.0),
    "a3": (297.0, 420.0),
    "a4": (210.0, 297.0),
    "a5": (148.0, 210.0),
    "letter": (215.9, 279.4),
    "legal": (215.9, 355.6),
    "tabloid": (279.4, 431.8),
    "ledger": (431.8, 279.4),
}


def media_from_name(name: str) -> MediaSize | None:
    """The size a media keyword names; a roll ("roll_...") keeps only its width."""
    match = PWG_SIZE.search(name)
    if match:
        scale = MM_PER_UNIT[match.group(3)]
        width = float(match.group(1)) * scale
        length = float(match.group(2)) * scale
        if name.startswith("roll_") or length == 0:
            return MediaSize(width)
        return MediaSize(width, length)
    legacy = LEGACY_SIZES.get(name.lower())
    return MediaSize(*legacy) if legacy else None


def media_from_col(col: Collection) -> tuple[MediaSize | None, str]:
    """media-col's media-size (hundredths of a millimetre; a range or nothing as the length
    means a roll) and media-type."""
    media_type_attr = col.get("media-type")
    media_type = (media_type_attr.text() or "") if media_type_attr else ""
    size_attr = col.get("media-size")
    if size_attr is None or not isinstance(size_attr.value, Collection):
        return None, media_type
    size = size_attr.value
    x = size.get("x-dimension")
    y = size.get("y-dimension")
    width = x.integer() if x else None
    if not width or width <= 0:
        return None, media_type
    length = y.integer() if y and not isinstance(y.value, Range) else None
    if not length or length <= 0:
        return MediaSize(width / 100), media_type
    return MediaSize(width / 100, length / 100), media_type


def _ranges(attribute: Attribute) -> tuple[tuple[int, int], ...]:
    return tuple(
        (v.value.lower, v.value.upper) for v in attribute.values if isinstance(v.value, Range)
    )


def job_options(attributes: list[Attribute]) -> JobOptions:
    by_name = {a.name: a for a in attributes}

    def integer(name: str, default: int) -> int:
        attribute = by_name.get(name)
        value = attribute.integer() if attribute else None
        return value if value is not None and value > 0 else default

    def keyword(name: str) -> str:
        attribute = by_name.get(name)
        return (attribute.text() or "") if attribute else ""

    media: MediaSize | None = None
    media_type = ""
    col = by_name.get("media-col")
    if col is not None and isinstance(col.value, Collection):
        media, media_type = media_from_col(col.value)
    if media is None and keyword("media"):
        media = media_from_name(keyword("media"))
    page_ranges = by_name.get("page-ranges")
    return JobOptions(
        copies=integer("copies", 1),
        page_ranges=_ranges(page_ranges) if page_ranges else (),
        number_up=integer("number-up", 1),
        sides=keyword("sides") or "one-sided",
        color_mode=keyword("print-color-mode"),
        media=media,
        media_type=media_type,
    )

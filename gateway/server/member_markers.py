"""A queue's supply levels, taken from its member printers.

Clients that show supplies read CUPS' `marker-*` attributes (Home Assistant's IPP integration
through pyipp, the CUPS web interface, `lpstat -l`), which IPP Everywhere printers such as
ippeveprinter do not send: they report `printer-supply` (PWG 5100.13) instead. So each member's
own `marker-*` are used where it sends them, else they are derived from its `printer-supply` the
way CUPS' SNMP supplies code reads the Printer MIB: levels in percent of capacity, a receptacle
(waste toner) counted by the room it has left, colorants as `#RRGGBB`. The queue shows every
member's supplies; with more than one member, each name starts with its printer's name, and
`printer-supply` is merged the same way so both views agree.

Pure: reads the members' last known attributes (kept while a member is down), does no IO.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..ipp import Attribute, Group, Tag
from ..ipp import model as m
from ..printers.state import Printer

__all__ = ["Marker", "markers_of", "member_supply_attributes"]

# marker-levels' special values (CUPS, after the Printer MIB's prtMarkerSuppliesLevel); -1,
# "other", is passed on as the printer says it.
LEVEL_UNKNOWN, LEVEL_SOME_REMAINING = -2, -3
# Where a printer states no thresholds: the [snmp] low_supply_percent default, and full.
LOW_LEVEL, HIGH_LEVEL = 10, 100
NO_COLOR = "none"
# Colorant names (printer-supply's colorantname, the Printer MIB's prtMarkerColorantValue) as
# CUPS writes them into marker-colors.
COLORS = {
    "black": "#000000",
    "blue": "#0000FF",
    "brown": "#A52A2A",
    "cyan": "#00FFFF",
    "dark-gray": "#404040",
    "dark-yellow": "#FFCC00",
    "gold": "#FFD700",
    "gray": "#808080",
    "green": "#00FF00",
    "light-black": "#606060",
    "light-cyan": "#E0FFFF",
    "light-gray": "#D3D3D3",
    "light-magenta": "#FF77FF",
    "magenta": "#FF00FF",
    "matte-black": "#000000",
    "orange": "#FFA500",
    "photo-black": "#000000",
    "red": "#FF0000",
    "silver": "#C0C0C0",
    "white": "#FFFFFF",
    "yellow": "#FFFF00",
}
RECEPTACLE = "receptacleThatIsFilled"


@dataclass(frozen=True)
class Marker:
    """One supply as CUPS' marker-* attributes describe it."""

    name: str
    color: str  # "#RRGGBB" (several for a multi-colour cartridge) or "none"
    level: int  # percent left, or one of the LEVEL_* special values
    type: str  # CUPS' marker-types keyword: toner, waste-toner, ink-cartridge...
    low: int = LOW_LEVEL
    high: int = HIGH_LEVEL


def member_supply_attributes(printers: Sequence[Printer]) -> list[Attribute]:
    """marker-* and printer-supply(-description) of the queue made of `printers`; nothing
    when no member has reported a supply."""
    named = len(printers) > 1
    markers: list[Marker] = []
    supplies: list[bytes] = []
    descriptions: list[str] = []
    for printer in printers:
        if printer.attributes is None:
            continue
        prefix = f"{printer.name}: " if named else ""
        for marker in markers_of(printer.attributes):
            markers.append(replace(marker, name=prefix + marker.name))
        for value, description in _supplies(printer.attributes):
            supplies.append(_reindexed(value, len(supplies) + 1) if named else value)
            descriptions.append(prefix + description)
    attributes: list[Attribute] = []
    if markers:
        attributes += [
            m.name_("marker-names", *(k.name for k in markers)),
            m.name_("marker-colors", *(k.color for k in markers)),
            m.integer("marker-levels", *(k.level for k in markers)),
            m.keyword("marker-types", *(k.type for k in markers)),
            m.integer("marker-low-levels", *(k.low for k in markers)),
            m.integer("marker-high-levels", *(k.high for k in markers)),
        ]
    if supplies:
        attributes += [
            m.attr("printer-supply", Tag.OCTET_STRING, *supplies),
            m.text("printer-supply-description", *descriptions),
        ]
    return attributes


def markers_of(attributes: Group) -> list[Marker]:
    """One printer's supplies: its own marker-* when it sends them, else its printer-supply."""
    names = attributes.get("marker-names")
    if names is not None and names.strings():
        return _own_markers(attributes, names.strings())
    return [_from_supply(value, description) for value, description in _supplies(attributes)]


def _own_markers(attributes: Group, names: list[str]) -> list[Marker]:
    def column(name: str, default: object) -> list[object]:
        attribute = attributes.get(name)
        values = attribute.python_values() if attribute is not None else []
        return [values[i] if i < len(values) else default for i in range(len(names))]

    colors = column("marker-colors", NO_COLOR)
    levels = column("marker-levels", LEVEL_UNKNOWN)
    types = column("marker-types", "unknown")
    lows = column("marker-low-levels", LOW_LEVEL)
    highs = column("marker-high-levels", HIGH_LEVEL)
    return [
        Marker(
            name,
            _string(colors[i], NO_COLOR),
            _integer(levels[i], LEVEL_UNKNOWN),
            _string(types[i], "unknown"),
            _integer(lows[i], LOW_LEVEL),
            _integer(highs[i], HIGH_LEVEL),
        )
        for i, name in enumerate(names)
    ]


def _supplies(attributes: Group) -> list[tuple[bytes, str]]:
    """printer-supply's values with their descriptions (the type where none is given)."""
    supply = attributes.get("printer-supply")
    if supply is None:
        return []
    described = attributes.get("printer-supply-description")
    texts = described.strings() if described is not None else []
    values = [v.value for v in supply.values if isinstance(v.value, bytes | str)]
    out = []
    for index, value in enumerate(values):
        raw = value if isinstance(value, bytes) else value.encode()
        text = texts[index] if index < len(texts) else ""
        out.append((raw, text or _fields(raw).get("type", "supply")))
    return out


def _from_supply(value: bytes, description: str) -> Marker:
    fields = _fields(value)
    level = _percent(fields)
    if fields.get("class") == RECEPTACLE and level >= 0:
        level = 100 - level  # a waste tank that fills up is "low" when it is nearly full
    return Marker(
        name=description,
        color=_color(fields.get("colorantname", "")),
        level=level,
        type=_hyphenated(fields.get("type", "unknown")),
    )


def _fields(value: bytes) -> dict[str, str]:
    """`index=1;class=...;level=75;` (PWG 5100.13's printer-supply) as a dict."""
    text = value.decode("utf-8", "replace")
    pairs = (item.partition("=") for item in text.split(";") if "=" in item)
    return {key.strip().lower(): val.strip() for key, _, val in pairs}


def _percent(fields: dict[str, str]) -> int:
    level = _int_field(fields, "level")
    capacity = _int_field(fields, "maxcapacity")
    if level is None:
        return LEVEL_UNKNOWN
    if level < 0:
        # -1 other, -2 unknown, -3 "some remaining": the same codes in marker-levels.
        return level if level >= LEVEL_SOME_REMAINING else LEVEL_UNKNOWN
    if capacity is not None and capacity > 0:
        return max(0, min(100, level * 100 // capacity))
    if fields.get("unit") == "percent" and level <= 100:
        return level
    return LEVEL_UNKNOWN


def _int_field(fields: dict[str, str], key: str) -> int | None:
    try:
        return int(fields[key])
    except (KeyError, ValueError):
        return None


def _color(colorant: str) -> str:
    """`cyan` -> `#00FFFF`; a multi-colour cartridge (`cyan magenta yellow`) gets them all."""
    words = [w for w in re.split(r"[\s,+/]+", colorant.strip().lower()) if w]
    if not words:
        return NO_COLOR
    whole = COLORS.get("-".join(words))
    if whole is not None:
        return whole
    colors = [COLORS.get(word) for word in words]
    if None in colors:
        return NO_COLOR
    return "".join(c for c in colors if c)


def _hyphenated(mib_type: str) -> str:
    """The Printer MIB's `tonerCartridge` is CUPS' marker-types `toner-cartridge`."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", mib_type).lower() or "unknown"


def _reindexed(value: bytes, index: int) -> bytes:
    """Two members each have a supply 1: in the queue's merged list they need distinct ones."""
    text = value.decode("utf-8", "replace")
    if re.search(r"(^|;)index=\d+", text):
        return re.sub(r"(^|;)index=\d+", rf"\g<1>index={index}", text, count=1).encode()
    return f"index={index};{text}".encode()


def _string(value: object, default: str) -> str:
    if isinstance(value, str):
        return value
    text = getattr(value, "text", None)
    return text if isinstance(text, str) else default


def _integer(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default

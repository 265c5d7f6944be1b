"""What a printer's answers mean: status, decoded error bits, supplies with their special
values, alerts, and the total / mono / colour counters. Pure functions over the values the
client read (OID -> int, bytes or dotted-OID string); no IO."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from . import oids
from .oids import Oid

Value = int | bytes | str
Values = Mapping[Oid, Value]

# hrPrinterStatus (RFC 2790)
PRINTER_STATUS = {1: "other", 2: "unknown", 3: "idle", 4: "printing", 5: "warmup"}

# hrPrinterDetectedErrorState (RFC 2790, bits 8-15 added by RFC 3805): bit 0 is the most
# significant bit of the first octet.
ERROR_BITS = (
    "lowPaper",
    "noPaper",
    "lowToner",
    "noToner",
    "doorOpen",
    "jammed",
    "offline",
    "serviceRequested",
    "inputTrayMissing",
    "outputTrayMissing",
    "markerSupplyMissing",
    "outputNearFull",
    "outputFull",
    "inputTrayEmpty",
    "overduePreventMaint",
)
# Conditions that stop the printer or need a person, as opposed to informational ones.
SERIOUS_ERRORS = frozenset(
    {
        "noPaper",
        "noToner",
        "doorOpen",
        "jammed",
        "offline",
        "serviceRequested",
        "inputTrayMissing",
        "outputTrayMissing",
        "markerSupplyMissing",
        "outputFull",
    }
)

# PrtMarkerSuppliesTypeTC (RFC 3805 / IANA-PRINTER-MIB)
SUPPLY_TYPES = {
    1: "other",
    2: "unknown",
    3: "toner",
    4: "wasteToner",
    5: "ink",
    6: "inkCartridge",
    7: "inkRibbon",
    8: "wasteInk",
    9: "opc",
    10: "developer",
    11: "fuserOil",
    12: "solidWax",
    13: "ribbonWax",
    14: "wasteWax",
    15: "fuser",
    16: "coronaWire",
    17: "fuserOilWick",
    18: "cleanerUnit",
    19: "fuserCleaningPad",
    20: "transferUnit",
    21: "tonerCartridge",
    22: "fuserOiler",
    23: "water",
    24: "wasteWater",
    25: "glueWaterAdditive",
    26: "wastePaper",
    27: "bindingSupply",
    28: "bandingSupply",
    29: "stitchingWire",
    30: "shrinkWrap",
    31: "paperWrap",
    32: "staples",
    33: "inserts",
    34: "covers",
    35: "matteToner",
    36: "matteInk",
}
SUPPLY_CONSUMED, SUPPLY_RECEPTACLE = 3, 4  # PrtMarkerSuppliesClassTC

# PrtMarkerCounterUnitTC
COUNTER_UNITS = {
    3: "tenThousandthsOfInches",
    4: "micrometers",
    5: "characters",
    6: "lines",
    7: "impressions",
    8: "sheets",
    9: "dotRow",
    11: "hours",
    16: "feet",
    17: "meters",
}

# Special values of prtMarkerSuppliesLevel / MaxCapacity (RFC 3805).
LEVEL_OTHER, LEVEL_UNKNOWN, LEVEL_SOME_REMAINING = -1, -2, -3

ALERT_SEVERITY = {1: "other", 3: "critical", 4: "warning", 5: "warningBinaryChangeEvent"}


@dataclass(frozen=True)
class Supply:
    description: str
    type: str
    supply_class: str  # consumed | receptacle | other
    level: int
    max: int
    # Remaining share in percent for consumables, fill share for receptacles (waste toner);
    # None when the printer does not say (level or capacity -1/-2, or only "some remains").
    percent: int | None
    state: str  # ok | low | empty | full | some-remaining | unknown

    def to_json(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "type": self.type,
            "class": self.supply_class,
            "level": self.level,
            "max": self.max,
            "percent": self.percent,
            "state": self.state,
        }


@dataclass(frozen=True)
class PrinterAlert:
    severity: str
    group: int
    code: int
    description: str


@dataclass(frozen=True)
class DeviceReading:
    address: str
    read_at: datetime
    model: str
    serial: str
    sys_descr: str
    sys_name: str
    location: str
    sys_object_id: str
    is_printer: bool
    total: int | None
    mono: int | None
    color: int | None
    unit: str
    status: str
    errors: tuple[str, ...]
    supplies: tuple[Supply, ...] = ()
    alerts: tuple[PrinterAlert, ...] = ()
    counter_source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "read_at": self.read_at.isoformat(timespec="seconds"),
            "model": self.model,
            "serial": self.serial,
            "name": self.sys_name,
            "location": self.location,
            "sys_object_id": self.sys_object_id,
            "total": self.total,
            "mono": self.mono,
            "color": self.color,
            "unit": self.unit,
            "counter_source": self.counter_source,
            "status": self.status,
            "errors": list(self.errors),
            "supplies": [s.to_json() for s in self.supplies],
            "alerts": [asdict(a) for a in self.alerts],
        }


@dataclass(frozen=True)
class Counters:
    total: int | None = None
    mono: int | None = None
    color: int | None = None
    source: str = ""
    parts: dict[str, int] = field(default_factory=dict)


# --- decoding ------------------------------------------------------------------------------


def column(values: Values, base: Oid) -> dict[Oid, Value]:
    """The rows of one table column: index suffix -> value."""
    size = len(base)
    return {k[size:]: v for k, v in values.items() if k[:size] == base and len(k) > size}


def first(values: Values, base: Oid) -> Value | None:
    rows = column(values, base)
    return rows[min(rows)] if rows else None


def text(value: Value | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip("\x00").strip()
    return str(value).strip()


def integer(value: Value | None) -> int | None:
    return value if isinstance(value, int) else None


def decode_errors(value: Value | None) -> tuple[str, ...]:
    """The names of the bits set in hrPrinterDetectedErrorState."""
    if not isinstance(value, bytes):
        return ()
    found = []
    for bit, name in enumerate(ERROR_BITS):
        octet = bit // 8
        if octet < len(value) and value[octet] & (0x80 >> (bit % 8)):
            found.append(name)
    return tuple(found)


def supply(description: str, kind: int, klass: int, level: int, capacity: int) -> Supply:
    receptacle = klass == SUPPLY_RECEPTACLE
    percent: int | None = None
    if level >= 0 and capacity > 0:
        percent = max(0, min(100, round(100 * level / capacity)))
    if level == LEVEL_SOME_REMAINING:
        state = "some-remaining"
    elif percent is None:
        state = "unknown"
    elif receptacle:
        state = "full" if percent >= 100 else "ok"
    else:
        state = "empty" if level == 0 else "ok"
    return Supply(
        description=description,
        type=SUPPLY_TYPES.get(kind, "unknown"),
        supply_class="receptacle" if receptacle else ("consumed" if klass == 3 else "other"),
        level=level,
        max=capacity,
        percent=percent,
        state=state,
    )


def supplies(values: Values) -> tuple[Supply, ...]:
    descriptions = column(values, oids.PRT_SUPPLY_DESCR)
    kinds = column(values, oids.PRT_SUPPLY_TYPE)
    classes = column(values, oids.PRT_SUPPLY_CLASS)
    capacities = column(values, oids.PRT_SUPPLY_MAX)
    levels = column(values, oids.PRT_SUPPLY_LEVEL)
    found = []
    for index in sorted(set(descriptions) | set(levels)):
        found.append(
            supply(
                text(descriptions.get(index)) or f"supply {'.'.join(map(str, index))}",
                integer(kinds.get(index)) or 2,
                integer(classes.get(index)) or 1,
                _int_or(levels.get(index), LEVEL_UNKNOWN),
                _int_or(capacities.get(index), LEVEL_UNKNOWN),
            )
        )
    return tuple(found)


def _int_or(value: Value | None, default: int) -> int:
    return value if isinstance(value, int) else default


def printer_alerts(values: Values) -> tuple[PrinterAlert, ...]:
    descriptions = column(values, oids.PRT_ALERT_DESCR)
    severities = column(values, oids.PRT_ALERT_SEVERITY)
    groups = column(values, oids.PRT_ALERT_GROUP)
    codes = column(values, oids.PRT_ALERT_CODE)
    return tuple(
        PrinterAlert(
            severity=ALERT_SEVERITY.get(integer(severities.get(i)) or 1, "other"),
            group=integer(groups.get(i)) or 0,
            code=integer(codes.get(i)) or 0,
            description=text(descriptions.get(i)),
        )
        for i in sorted(set(descriptions) | set(codes))
    )


def pwg_counters(values: Values) -> Counters | None:
    """Lifetime work totals from PWG-IMAGING-COUNTER-MIB, of the lowest key (the system)."""
    totals = column(values, oids.IC_IMPRESSION_TOTAL)
    rows = sorted(
        i for i in totals if len(i) == 3 and i[1:] == (oids.IC_WORK_TOTALS, oids.IC_LIFETIME)
    )
    if not rows:
        return None
    row = rows[0]
    mono = integer(column(values, oids.IC_IMPRESSION_MONO).get(row))
    color = integer(column(values, oids.IC_IMPRESSION_COLOR).get(row))
    return Counters(integer(totals[row]), mono, color, "PWG-IMAGING-COUNTER-MIB")


def vendor_counters(values: Values, enterprise: int | None) -> Counters | None:
    sums: dict[str, int] = {}
    source = ""
    for counter in oids.vendor_counters(enterprise):
        value = values.get(counter.oid)
        if isinstance(value, int) and value >= 0:
            sums[counter.kind] = sums.get(counter.kind, 0) + value
            source = f"{counter.vendor}: {counter.source}"
    if enterprise == oids.RICOH_ENTERPRISE:
        types = column(values, oids.RICOH_COUNTER_TYPE)
        counts = column(values, oids.RICOH_COUNTER_VALUE)
        for index, kind in types.items():
            name = oids.RICOH_TYPES.get(integer(kind) or 0)
            count = integer(counts.get(index))
            if name and count is not None and count >= 0:
                sums[name] = sums.get(name, 0) + count
                source = f"Ricoh: {oids.RICOH_SOURCE}"
    if not sums:
        return None
    return Counters(sums.get("total"), sums.get("mono"), sums.get("color"), source)


def life_count(values: Values) -> tuple[int | None, str]:
    """prtMarkerLifeCount of the first marker, and its unit."""
    counts = column(values, oids.PRT_MARKER_LIFE_COUNT)
    if not counts:
        return None, ""
    index = min(counts)
    unit = integer(column(values, oids.PRT_MARKER_UNIT).get(index))
    return integer(counts[index]), COUNTER_UNITS.get(unit or 0, "")


def counters(values: Values, enterprise: int | None) -> tuple[Counters, str]:
    """Total from prtMarkerLifeCount; mono / colour from the PWG counters, else the vendor's;
    a missing part is derived from the other two when they are there."""
    total, unit = life_count(values)
    split = pwg_counters(values) or vendor_counters(values, enterprise)
    mono = split.mono if split else None
    color = split.color if split else None
    if total is None and split is not None:
        total = split.total
    if total is not None and mono is None and color is not None:
        mono = max(0, total - color)
    if total is not None and color is None and mono is not None:
        color = max(0, total - mono)
    if total is None and mono is not None and color is not None:
        total = mono + color
    return Counters(total, mono, color, split.source if split else "Printer-MIB"), unit


def is_printer(values: Values) -> bool:
    """hrDeviceType says printer, or the Printer MIB answers."""
    kinds = column(values, oids.HR_DEVICE_TYPE).values()
    if any(text(k) == oids.dotted(oids.HR_DEVICE_PRINTER) for k in kinds):
        return True
    return any(k[: len(oids.PRINTER_MIB)] == oids.PRINTER_MIB for k in values)


def decode(address: str, values: Values, read_at: datetime) -> DeviceReading:
    sys_object_id = text(first(values, oids.SYS_OBJECT_ID))
    meter, unit = counters(values, oids.vendor_of(sys_object_id))
    status = integer(first(values, oids.HR_PRINTER_STATUS))
    descr = text(first(values, oids.SYS_DESCR))
    return DeviceReading(
        address=address,
        read_at=read_at,
        model=_model(values) or descr,
        serial=text(first(values, oids.PRT_GENERAL_SERIAL)),
        sys_descr=descr,
        sys_name=text(first(values, oids.SYS_NAME)),
        location=text(first(values, oids.SYS_LOCATION)),
        sys_object_id=sys_object_id,
        is_printer=is_printer(values),
        total=meter.total,
        mono=meter.mono,
        color=meter.color,
        unit=unit,
        status=PRINTER_STATUS.get(status or 2, "unknown"),
        errors=decode_errors(first(values, oids.HR_PRINTER_ERRORS)),
        supplies=supplies(values),
        alerts=printer_alerts(values),
        counter_source=meter.source,
    )


def _model(values: Values) -> str:
    """hrDeviceDescr of the printer device (the first device whose type is printer)."""
    kinds = column(values, oids.HR_DEVICE_TYPE)
    descriptions = column(values, oids.HR_DEVICE_DESCR)
    printer = oids.dotted(oids.HR_DEVICE_PRINTER)
    for index in sorted(descriptions):
        if text(kinds.get(index)) in (printer, ""):
            return text(descriptions[index])
    return ""

"""Every OID printgate reads, in one place, each with where it is defined.

Standard objects come from SNMPv2-MIB (RFC 3418), HOST-RESOURCES-MIB (RFC 2790), Printer-MIB v2
(RFC 3805) and the PWG Imaging System Counter MIB (PWG 5106.1, module PWG-IMAGING-COUNTER-MIB,
{ pwg 1 3 }). Vendor counters are in VENDOR_COUNTERS below: a printer whose sysObjectID is under
a vendor's enterprise number is asked for that vendor's mono / colour / total counters.
"""

from __future__ import annotations

from dataclasses import dataclass

Oid = tuple[int, ...]


def oid(text: str) -> Oid:
    return tuple(int(part) for part in text.strip(".").split("."))


def dotted(value: Oid) -> str:
    return ".".join(str(part) for part in value)


# SNMPv2-MIB system group (RFC 3418): scalars, read with GETNEXT on the column so that one
# GETBULK's non-repeaters carry all four.
SYS_DESCR = oid("1.3.6.1.2.1.1.1")
SYS_OBJECT_ID = oid("1.3.6.1.2.1.1.2")
SYS_NAME = oid("1.3.6.1.2.1.1.5")
SYS_LOCATION = oid("1.3.6.1.2.1.1.6")
SYSTEM = (SYS_DESCR, SYS_OBJECT_ID, SYS_NAME, SYS_LOCATION)

# HOST-RESOURCES-MIB (RFC 2790)
HR_DEVICE_TYPE = oid("1.3.6.1.2.1.25.3.2.1.2")
HR_DEVICE_DESCR = oid("1.3.6.1.2.1.25.3.2.1.3")
HR_DEVICE_PRINTER = oid("1.3.6.1.2.1.25.3.1.5")  # hrDevicePrinter, a value of hrDeviceType
HR_PRINTER_STATUS = oid("1.3.6.1.2.1.25.3.5.1.1")
HR_PRINTER_ERRORS = oid("1.3.6.1.2.1.25.3.5.1.2")  # hrPrinterDetectedErrorState

# Printer-MIB v2 (RFC 3805)
PRT_GENERAL_SERIAL = oid("1.3.6.1.2.1.43.5.1.1.17")  # prtGeneralSerialNumber
PRT_MARKER_UNIT = oid("1.3.6.1.2.1.43.10.2.1.3")  # prtMarkerCounterUnit
PRT_MARKER_LIFE_COUNT = oid("1.3.6.1.2.1.43.10.2.1.4")  # prtMarkerLifeCount
PRT_SUPPLY_CLASS = oid("1.3.6.1.2.1.43.11.1.1.4")  # prtMarkerSuppliesClass
PRT_SUPPLY_TYPE = oid("1.3.6.1.2.1.43.11.1.1.5")
PRT_SUPPLY_DESCR = oid("1.3.6.1.2.1.43.11.1.1.6")
PRT_SUPPLY_UNIT = oid("1.3.6.1.2.1.43.11.1.1.7")
PRT_SUPPLY_MAX = oid("1.3.6.1.2.1.43.11.1.1.8")  # prtMarkerSuppliesMaxCapacity
PRT_SUPPLY_LEVEL = oid("1.3.6.1.2.1.43.11.1.1.9")
PRT_ALERT_SEVERITY = oid("1.3.6.1.2.1.43.18.1.1.2")
PRT_ALERT_GROUP = oid("1.3.6.1.2.1.43.18.1.1.4")
PRT_ALERT_CODE = oid("1.3.6.1.2.1.43.18.1.1.7")
PRT_ALERT_DESCR = oid("1.3.6.1.2.1.43.18.1.1.8")
PRINTER_MIB = oid("1.3.6.1.2.1.43")

# PWG-IMAGING-COUNTER-MIB icImpressionTable, indexed by (icImpressionKeyIndex,
# icImpressionWorkType, icImpressionPersistence): Total, Monochrome and FullColor impressions.
IC_IMPRESSION_TOTAL = oid("1.3.6.1.4.1.2699.1.3.1.8.1.1.4")
IC_IMPRESSION_MONO = oid("1.3.6.1.4.1.2699.1.3.1.8.1.1.5")
IC_IMPRESSION_COLOR = oid("1.3.6.1.4.1.2699.1.3.1.8.1.1.7")
IC_WORK_TOTALS = 3  # IcWorkTypeTC workTotals
IC_LIFETIME = 3  # IcPersistenceTC lifetime

# The tables one poll reads: (key column, other columns). The key columns of all tables are
# walked together (GETBULK); the other columns are then read with GET at the rows the keys
# showed, so no answer carries the rows past a column's end that a walk of every column
# would bring back. hrPrinterTable is indexed by hrDeviceIndex: its rows also say which
# hrDeviceDescr is the printer's.
POLL_TABLES: tuple[tuple[Oid, tuple[Oid, ...]], ...] = (
    (HR_PRINTER_STATUS, (HR_PRINTER_ERRORS, HR_DEVICE_DESCR)),
    (PRT_GENERAL_SERIAL, ()),
    (PRT_MARKER_LIFE_COUNT, (PRT_MARKER_UNIT,)),
    (
        PRT_SUPPLY_DESCR,
        (PRT_SUPPLY_CLASS, PRT_SUPPLY_TYPE, PRT_SUPPLY_UNIT, PRT_SUPPLY_MAX, PRT_SUPPLY_LEVEL),
    ),
    (PRT_ALERT_CODE, (PRT_ALERT_SEVERITY, PRT_ALERT_GROUP, PRT_ALERT_DESCR)),
    (IC_IMPRESSION_TOTAL, (IC_IMPRESSION_MONO, IC_IMPRESSION_COLOR)),
)

# Every column a reading may hold (a walk of all of them reads a device the slow way).
COLUMNS = (
    HR_DEVICE_TYPE,
    HR_DEVICE_DESCR,
    HR_PRINTER_STATUS,
    HR_PRINTER_ERRORS,
    PRT_GENERAL_SERIAL,
    PRT_MARKER_UNIT,
    PRT_MARKER_LIFE_COUNT,
    PRT_SUPPLY_CLASS,
    PRT_SUPPLY_TYPE,
    PRT_SUPPLY_DESCR,
    PRT_SUPPLY_UNIT,
    PRT_SUPPLY_MAX,
    PRT_SUPPLY_LEVEL,
    PRT_ALERT_SEVERITY,
    PRT_ALERT_GROUP,
    PRT_ALERT_CODE,
    PRT_ALERT_DESCR,
    IC_IMPRESSION_TOTAL,
    IC_IMPRESSION_MONO,
    IC_IMPRESSION_COLOR,
)


@dataclass(frozen=True)
class VendorCounter:
    """One vendor meter: `kind` is total, mono or color; several OIDs of one kind are summed
    (e.g. print + copy)."""

    vendor: str
    enterprise: int  # sysObjectID must be under 1.3.6.1.4.1.<enterprise>
    kind: str
    oid: Oid
    source: str


_HP_SRC = "HP IJXXXX-MIB / LaserJet MIB total-mono-page-count, total-color-page-count"
_XEROX_SRC = "XEROX-HOST-RESOURCES-EXT-MIB xcmHrDevDetailValueInteger (GLPI agent Xerox.pm)"
_KM_SRC = "Konica Minolta kmSysPrintFunctionCounterTable (GLPI agent Konica.pm)"
_KYO_SRC = "Kyocera private MIB 1347.42.3 function counters (printmaster Kyocera OID map)"
_CANON_SRC = "CANON-MIB counter table 1602.1.11.1.3.1.4: 101 total, 109 black, 106 colour"
_RICOH_SRC = "Ricoh-Private-MIB ricohEngCounterValue, type 10 total (GLPI agent Ricoh.pm)"

VENDOR_COUNTERS: tuple[VendorCounter, ...] = (
    VendorCounter("HP", 11, "mono", oid("1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.6.0"), _HP_SRC),
    VendorCounter("HP", 11, "color", oid("1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.7.0"), _HP_SRC),
    VendorCounter("Xerox", 253, "total", oid("1.3.6.1.4.1.253.8.53.13.2.1.6.1.20.1"), _XEROX_SRC),
    VendorCounter("Xerox", 253, "color", oid("1.3.6.1.4.1.253.8.53.13.2.1.6.1.20.33"), _XEROX_SRC),
    VendorCounter("Xerox", 253, "mono", oid("1.3.6.1.4.1.253.8.53.13.2.1.6.1.20.34"), _XEROX_SRC),
    VendorCounter(
        "Konica Minolta", 18334, "total", oid("1.3.6.1.4.1.18334.1.1.1.5.7.2.1.1.0"), _KM_SRC
    ),
    VendorCounter(
        "Konica Minolta", 18334, "mono", oid("1.3.6.1.4.1.18334.1.1.1.5.7.2.2.1.5.1.1"), _KM_SRC
    ),
    VendorCounter(
        "Konica Minolta", 18334, "mono", oid("1.3.6.1.4.1.18334.1.1.1.5.7.2.2.1.5.1.2"), _KM_SRC
    ),
    VendorCounter(
        "Konica Minolta", 18334, "color", oid("1.3.6.1.4.1.18334.1.1.1.5.7.2.2.1.5.2.1"), _KM_SRC
    ),
    VendorCounter(
        "Konica Minolta", 18334, "color", oid("1.3.6.1.4.1.18334.1.1.1.5.7.2.2.1.5.2.2"), _KM_SRC
    ),
    VendorCounter("Kyocera", 1347, "mono", oid("1.3.6.1.4.1.1347.42.3.1.2.1.1.1.1"), _KYO_SRC),
    VendorCounter("Kyocera", 1347, "mono", oid("1.3.6.1.4.1.1347.42.3.1.2.1.1.2.1"), _KYO_SRC),
    VendorCounter("Kyocera", 1347, "mono", oid("1.3.6.1.4.1.1347.42.3.1.2.1.1.4.1"), _KYO_SRC),
    VendorCounter("Kyocera", 1347, "color", oid("1.3.6.1.4.1.1347.42.3.1.2.1.1.1.3"), _KYO_SRC),
    VendorCounter("Kyocera", 1347, "color", oid("1.3.6.1.4.1.1347.42.3.1.2.1.1.2.3"), _KYO_SRC),
    VendorCounter("Canon", 1602, "total", oid("1.3.6.1.4.1.1602.1.11.1.3.1.4.101"), _CANON_SRC),
    VendorCounter("Canon", 1602, "mono", oid("1.3.6.1.4.1.1602.1.11.1.3.1.4.109"), _CANON_SRC),
    VendorCounter("Canon", 1602, "color", oid("1.3.6.1.4.1.1602.1.11.1.3.1.4.106"), _CANON_SRC),
)

# Ricoh keeps its counters in a table whose rows say what they count (ricohEngCounterType):
# walked, not read by OID. Types: 10 total, 401 print black, 201 copy black, 402/403 print
# colour (full / two-colour), 202/203 copy colour.
RICOH_ENTERPRISE = 367
RICOH_COUNTER_TYPE = oid("1.3.6.1.4.1.367.3.2.1.2.19.5.1.2")
RICOH_COUNTER_VALUE = oid("1.3.6.1.4.1.367.3.2.1.2.19.5.1.9")
RICOH_TYPES = {
    10: "total",
    201: "mono",
    401: "mono",
    202: "color",
    203: "color",
    402: "color",
    403: "color",
}
RICOH_SOURCE = _RICOH_SRC


def vendor_of(sys_object_id: str) -> int | None:
    """The enterprise number under which sysObjectID lies (1.3.6.1.4.1.N...)."""
    parts = sys_object_id.strip(".").split(".")
    if len(parts) > 6 and parts[:6] == ["1", "3", "6", "1", "4", "1"] and parts[6].isdigit():
        return int(parts[6])
    return None


def vendor_counters(enterprise: int | None) -> tuple[VendorCounter, ...]:
    return tuple(c for c in VENDOR_COUNTERS if c.enterprise == enterprise)

"""The meter report dealers bill from: one row per device with its latest meters and supplies,
new devices highlighted in yellow and stale ones (no read for `stale_after`) in pink, as Print
Tracker does. Devices not read for `drop_after` are left out. CSV and Excel (.xlsx)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..config import SnmpConfig
from ..runtime.mail import Attachment
from ..store.models import MeterReadingRow, SnmpDeviceRow
from ..store.store import Store, now
from . import records
from .alerts import is_stale

COLUMNS = (
    "device",
    "model",
    "serial",
    "address",
    "location",
    "total",
    "mono",
    "color",
    "unit",
    "supplies",
    "status",
    "errors",
    "last_read",
    "flag",
)
NEW_FILL = "FFFF00"  # yellow
STALE_FILL = "FFC0CB"  # pink
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class ReportRow:
    device_id: int
    device: str
    model: str
    serial: str
    address: str
    location: str
    total: int | None
    mono: int | None
    color: int | None
    unit: str
    supplies: str
    status: str
    errors: str
    last_read: str
    flag: str  # new | stale | "" (| dropped, kept for the console only)

    def values(self) -> list[object]:
        return [getattr(self, c) for c in COLUMNS]


def build_rows(
    devices: Sequence[SnmpDeviceRow],
    latest: dict[int, MeterReadingRow],
    settings: SnmpConfig,
    moment: datetime,
    keep_dropped: bool = False,
) -> list[ReportRow]:
    """keep_dropped: the devices gone for good stay in, flagged "dropped" (the console shows
    them; the mailed report leaves them out)."""
    rows = []
    for device in devices:
        seen = device.last_read or device.first_seen
        dropped = moment - seen >= timedelta(seconds=settings.drop_after)
        if dropped and not keep_dropped:
            continue  # gone for good as far as the reports are concerned
        reading = latest.get(device.id)
        stale = is_stale(device.last_read, device.first_seen, moment, settings.stale_after)
        flag = (
            "dropped" if dropped else "stale" if stale else ("new" if not device.reported else "")
        )
        rows.append(
            ReportRow(
                device_id=device.id,
                device=device.printer or device.sys_name or device.address,
                model=device.model,
                serial=device.serial,
                address=device.address,
                location=device.location,
                total=reading.total if reading else None,
                mono=reading.mono if reading else None,
                color=reading.color if reading else None,
                unit=reading.unit if reading else "",
                supplies=_supplies(reading),
                status=reading.status if reading else "",
                errors=reading.errors if reading else "",
                last_read=device.last_read.isoformat(timespec="seconds")
                if device.last_read
                else "",
                flag=flag,
            )
        )
    return rows


def _supplies(reading: MeterReadingRow | None) -> str:
    if reading is None:
        return ""
    parts = []
    for supply in json.loads(reading.supplies or "[]"):
        percent = supply.get("percent")
        level = f"{percent}%" if percent is not None else supply.get("state", "")
        parts.append(f"{supply.get('description', '')} {level}".strip())
    return "; ".join(parts)


async def rows_from_store(
    store: Store, settings: SnmpConfig, keep_dropped: bool = False
) -> list[ReportRow]:
    return build_rows(
        await records.devices(store),
        await records.latest_readings(store),
        settings,
        now(),
        keep_dropped,
    )


def to_csv(rows: Sequence[ReportRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row.values()])
    return out.getvalue().encode("utf-8")


def to_xlsx(rows: Sequence[ReportRow]) -> bytes:
    # openpyxl (and the numpy it loads) only when a workbook is made: it would add half a
    # second to every start of printgate.
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = "Meters"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    fills = {
        "new": PatternFill(start_color=NEW_FILL, end_color=NEW_FILL, fill_type="solid"),
        "stale": PatternFill(start_color=STALE_FILL, end_color=STALE_FILL, fill_type="solid"),
    }
    for row in rows:
        sheet.append(row.values())
        fill = fills.get(row.flag)
        if fill is not None:
            for cell in sheet[sheet.max_row]:
                cell.fill = fill
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def attachments(rows: Sequence[ReportRow], formats: Sequence[str], stamp: str) -> list[Attachment]:
    made = []
    for fmt in formats:
        if fmt == "csv":
            made.append(Attachment(f"meters-{stamp}.csv", to_csv(rows), "text/csv"))
        elif fmt == "xlsx":
            made.append(Attachment(f"meters-{stamp}.xlsx", to_xlsx(rows), XLSX_TYPE))
    return made


def summary(rows: Sequence[ReportRow]) -> str:
    new = [r for r in rows if r.flag == "new"]
    stale = [r for r in rows if r.flag == "stale"]
    lines = [f"Meter report: {len(rows)} devices."]
    if new:
        lines.append(f"New (yellow): {', '.join(r.address for r in new)}")
    if stale:
        lines.append(f"Stale (pink): {', '.join(r.address for r in stale)}")
    return "\n".join(lines) + "\n"

"""The fleet's rows in the store: devices, meter readings, alert episodes. Writes go through
Store.write (group-committed with everything else), reads through Store.read."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..store import audit
from ..store.models import MeterReadingRow, SnmpAlertRow, SnmpDeviceRow
from ..store.store import Store, now
from .alerts import Episode
from .reading import DeviceReading


@dataclass(frozen=True)
class DeviceEntry:
    """A device printgate should read: where, and where it came from."""

    address: str
    origin: str  # config | manual | discovered
    printer: str = ""


async def ensure_devices(store: Store, entries: Sequence[DeviceEntry]) -> list[SnmpDeviceRow]:
    """Add the devices not yet known; the rows of those that were added (the new ones)."""

    def fn(session: Session) -> list[SnmpDeviceRow]:
        known = {
            row.address: row
            for row in session.scalars(
                select(SnmpDeviceRow).where(SnmpDeviceRow.address.in_([e.address for e in entries]))
            )
        }
        added = []
        for entry in entries:
            row = known.get(entry.address)
            if row is not None:
                if entry.printer and row.printer != entry.printer:
                    row.printer = entry.printer
                continue
            row = SnmpDeviceRow(
                address=entry.address,
                printer=entry.printer,
                origin=entry.origin,
                first_seen=now(),
                # Configured printers are known to the administrator already; the others
                # are highlighted as new in the next report.
                reported=entry.origin == "config",
                model="",
                serial="",
                sys_name="",
                location="",
                sys_object_id="",
                last_error="",
            )
            session.add(row)
            known[entry.address] = row
            added.append(row)
        session.flush()
        return added

    if not entries:
        return []
    return await store.write(fn)


async def add_device(store: Store, address: str, actor: audit.Actor) -> bool:
    """A device added by hand in the console, with its audit entry; False if already known."""

    def fn(session: Session) -> bool:
        if session.scalar(select(SnmpDeviceRow.id).where(SnmpDeviceRow.address == address)):
            return False
        session.add(
            SnmpDeviceRow(
                address=address,
                printer="",
                origin="manual",
                first_seen=now(),
                reported=False,
                model="",
                serial="",
                sys_name="",
                location="",
                sys_object_id="",
                last_error="",
            )
        )
        audit.record(session, actor, "snmp.device.add", address, after={"address": address})
        return True

    return await store.write(fn)


async def devices(store: Store) -> list[SnmpDeviceRow]:
    async def fn(session: AsyncSession) -> list[SnmpDeviceRow]:
        return list(await session.scalars(select(SnmpDeviceRow).order_by(SnmpDeviceRow.id)))

    return await store.read(fn)


async def record_reading(store: Store, device_id: int, reading: DeviceReading) -> None:
    def fn(session: Session) -> None:
        session.add(
            MeterReadingRow(
                device_id=device_id,
                read_at=reading.read_at,
                total=reading.total,
                mono=reading.mono,
                color=reading.color,
                unit=reading.unit,
                status=reading.status,
                errors=",".join(reading.errors),
                supplies=json.dumps([s.to_json() for s in reading.supplies]),
            )
        )
        session.execute(
            update(SnmpDeviceRow)
            .where(SnmpDeviceRow.id == device_id)
            .values(
                model=reading.model[:255],
                serial=reading.serial[:255],
                sys_name=reading.sys_name[:255],
                location=reading.location[:255],
                sys_object_id=reading.sys_object_id[:255],
                last_read=reading.read_at,
                last_error="",
            )
        )

    await store.write(fn)


async def record_failure(store: Store, device_id: int, error: str) -> None:
    def fn(session: Session) -> None:
        session.execute(
            update(SnmpDeviceRow).where(SnmpDeviceRow.id == device_id).values(last_error=error)
        )

    await store.write(fn)


async def history(store: Store, device_id: int) -> list[MeterReadingRow]:
    async def fn(session: AsyncSession) -> list[MeterReadingRow]:
        query = (
            select(MeterReadingRow)
            .where(MeterReadingRow.device_id == device_id)
            .order_by(MeterReadingRow.read_at, MeterReadingRow.id)
        )
        return list(await session.scalars(query))

    return await store.read(fn)


async def latest_readings(store: Store) -> dict[int, MeterReadingRow]:
    """Each device's newest reading."""

    # One index seek per device (ix_meter_readings_device_time), not a pass over the whole
    # history, which grows by every device's reading every poll.
    newest_of_device = (
        select(MeterReadingRow.id)
        .where(MeterReadingRow.device_id == SnmpDeviceRow.id)
        .order_by(MeterReadingRow.read_at.desc(), MeterReadingRow.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    newest = select(newest_of_device).select_from(SnmpDeviceRow)

    async def fn(session: AsyncSession) -> dict[int, MeterReadingRow]:
        rows = await session.scalars(select(MeterReadingRow).where(MeterReadingRow.id.in_(newest)))
        return {row.device_id: row for row in rows}

    return await store.read(fn)


async def open_alerts(store: Store) -> list[SnmpAlertRow]:
    async def fn(session: AsyncSession) -> list[SnmpAlertRow]:
        query = select(SnmpAlertRow).where(SnmpAlertRow.closed_at.is_(None))
        return list(await session.scalars(query.order_by(SnmpAlertRow.id)))

    return await store.read(fn)


async def all_alerts(store: Store) -> list[SnmpAlertRow]:
    async def fn(session: AsyncSession) -> list[SnmpAlertRow]:
        return list(await session.scalars(select(SnmpAlertRow).order_by(SnmpAlertRow.id)))

    return await store.read(fn)


async def apply_episodes(
    store: Store, opened: Sequence[Episode], closed: Iterable[int], when: datetime
) -> list[SnmpAlertRow]:
    """Open and close alert episodes in one transaction; the rows opened."""
    closing = list(closed)

    def fn(session: Session) -> list[SnmpAlertRow]:
        if closing:
            session.execute(
                update(SnmpAlertRow).where(SnmpAlertRow.id.in_(closing)).values(closed_at=when)
            )
        rows = [
            SnmpAlertRow(
                device_id=e.device_id,
                kind=e.kind,
                subject=e.subject[:255],
                message=e.message,
                opened_at=when,
            )
            for e in opened
        ]
        session.add_all(rows)
        session.flush()
        return rows

    if not opened and not closing:
        return []
    return await store.write(fn)


async def mark_mailed(store: Store, alert_ids: Sequence[int], when: datetime) -> None:
    def fn(session: Session) -> None:
        session.execute(
            update(SnmpAlertRow).where(SnmpAlertRow.id.in_(alert_ids)).values(mailed_at=when)
        )

    if alert_ids:
        await store.write(fn)


async def unmailed_alerts(store: Store) -> list[SnmpAlertRow]:
    """Episodes not yet mailed (a mail server that was down is tried again next round)."""

    async def fn(session: AsyncSession) -> list[SnmpAlertRow]:
        query = select(SnmpAlertRow).where(SnmpAlertRow.mailed_at.is_(None))
        return list(await session.scalars(query.order_by(SnmpAlertRow.id)))

    return await store.read(fn)


async def mark_reported(store: Store, device_ids: Sequence[int]) -> None:
    def fn(session: Session) -> None:
        session.execute(
            update(SnmpDeviceRow).where(SnmpDeviceRow.id.in_(device_ids)).values(reported=True)
        )

    if device_ids:
        await store.write(fn)

"""A device's page reads: the device, its newest readings (a bounded number: a device read
hourly for years has tens of thousands), and its alert episodes. One index walk each
(ix_meter_readings_device_time, ix_snmp_alerts_open)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.models import MeterReadingRow, SnmpAlertRow, SnmpDeviceRow
from gateway.store.store import Store

CHART_READINGS = 500  # the newest readings charted


async def device(store: Store, device_id: int) -> SnmpDeviceRow | None:
    async def fn(session: AsyncSession) -> SnmpDeviceRow | None:
        return await session.get(SnmpDeviceRow, device_id)

    return await store.read(fn)


async def newest_readings(
    store: Store, device_id: int, limit: int = CHART_READINGS
) -> list[MeterReadingRow]:
    """The device's newest readings, oldest first."""

    async def fn(session: AsyncSession) -> list[MeterReadingRow]:
        query = (
            select(MeterReadingRow)
            .where(MeterReadingRow.device_id == device_id)
            .order_by(MeterReadingRow.read_at.desc(), MeterReadingRow.id.desc())
            .limit(limit)
        )
        return list(await session.scalars(query))[::-1]

    return await store.read(fn)


async def alerts(store: Store, device_id: int) -> list[SnmpAlertRow]:
    """The device's alert episodes, newest first."""

    async def fn(session: AsyncSession) -> list[SnmpAlertRow]:
        query = (
            select(SnmpAlertRow)
            .where(SnmpAlertRow.device_id == device_id)
            .order_by(SnmpAlertRow.id.desc())
        )
        return list(await session.scalars(query))

    return await store.read(fn)

"""One device's reading: a walk of the standard columns, then the vendor's own counters."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import TypeVar

from . import oids, reading
from .client import SnmpClient, SnmpError, Target
from .reading import DeviceReading

T = TypeVar("T")


# Rows per table in one GETBULK round: a printer's supplies fit; a longer table takes
# another round for that column alone.
KEY_REPETITIONS = 8


async def read_device(client: SnmpClient, target: Target) -> DeviceReading:
    """Everything printgate reads from one device, in two round trips for most printers;
    SnmpError if it does not answer."""
    keys = [key for key, _others in oids.POLL_TABLES]
    values = await client.walk(target, keys, oids.SYSTEM, repetitions=KEY_REPETITIONS)
    if not values:
        raise SnmpError(f"{target.address}: answered with nothing")
    enterprise = oids.vendor_of(reading.text(reading.first(values, oids.SYS_OBJECT_ID)))
    wanted = [c.oid for c in oids.vendor_counters(enterprise)]
    for key, others in oids.POLL_TABLES:
        for index in reading.column(values, key):
            wanted += [(*column, *index) for column in others]
    if wanted:
        values = {**values, **await client.get(target, wanted)}
    if enterprise == oids.RICOH_ENTERPRISE:
        ricoh = (oids.RICOH_COUNTER_TYPE, oids.RICOH_COUNTER_VALUE)
        values = {**values, **await client.walk(target, ricoh)}
    return reading.decode(target.address, values, datetime.now(UTC))


async def life_count(
    client: SnmpClient, target: Target, wait: float | None = None
) -> tuple[int | None, str]:
    """prtMarkerLifeCount and hrPrinterStatus only: the per-job meter check reads these twice
    a job, so it asks for nothing else."""
    values = await client.walk(
        target, (oids.PRT_MARKER_LIFE_COUNT, oids.HR_PRINTER_STATUS), wait=wait, repetitions=2
    )
    count, _unit = reading.life_count(values)
    status = reading.integer(reading.first(values, oids.HR_PRINTER_STATUS))
    return count, reading.PRINTER_STATUS.get(status or 2, "unknown")


async def bounded(
    items: Iterable[T], concurrency: int, work: Callable[[T], Awaitable[None]]
) -> None:
    """Run `work` on every item with at most `concurrency` under way: more requests in flight
    than the socket's receive buffer holds answers for makes devices time out falsely."""
    queue: asyncio.Queue[T] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def worker() -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await work(item)

    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, min(concurrency, queue.qsize()))):
            group.create_task(worker())

"""Reads the life counts the per-job meter check compares (gateway/snmp/metercheck.py)."""

from __future__ import annotations

import asyncio

from .client import SnmpClient, SnmpError, Target
from .metercheck import MeterSample
from .poller import life_count

# After a job completes, a printer may still be moving its last sheets out and counting them:
# wait at least SETTLE seconds, then until it says it is idle (at most SETTLE_LIMIT seconds).
SETTLE = 1.0
SETTLE_LIMIT = 30.0


class SnmpMeter:
    """The life counts of the configured printers that have SNMP."""

    def __init__(self, client: SnmpClient, targets: dict[str, Target]):
        self.client = client
        self.targets = targets

    def covers(self, printer: str) -> bool:
        return printer in self.targets

    async def sample(self, printer: str) -> MeterSample | None:
        target = self.targets.get(printer)
        if target is None:
            return None
        try:
            count, status = await life_count(self.client, target)
        except SnmpError:
            return None
        return None if count is None else MeterSample(count, status)

    async def settled(self, printer: str) -> MeterSample | None:
        """The count once the printer is idle again after a job; None if it never is."""
        await asyncio.sleep(SETTLE)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_LIMIT
        while True:
            sample = await self.sample(printer)
            if sample is not None and sample.idle:
                return sample
            if sample is None or loop.time() >= deadline:
                return None
            await asyncio.sleep(0.5)

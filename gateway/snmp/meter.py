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
# A job waits for the first sample: ask briefly, and after a printer's agent did not answer,
# leave it out of the check for a while instead of delaying each of its jobs.
SAMPLE_WAIT = 1.0
SKIP_AFTER_FAILURE = 300.0


class SnmpMeter:
    """The life counts of the configured printers that have SNMP."""

    def __init__(self, client: SnmpClient, targets: dict[str, Target]):
        self.client = client
        self.targets = targets
        self._skip_until: dict[str, float] = {}

    def covers(self, printer: str) -> bool:
        return printer in self.targets

    async def sample(self, printer: str) -> MeterSample | None:
        target = self.targets.get(printer)
        now = asyncio.get_running_loop().time()
        if target is None or self._skip_until.get(printer, 0.0) > now:
            return None
        try:
            count, status = await life_count(self.client, target, SAMPLE_WAIT)
        except SnmpError:
            self._skip_until[printer] = now + SKIP_AFTER_FAILURE
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

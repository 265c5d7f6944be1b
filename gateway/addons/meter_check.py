"""The per-job meter check as an addon: the printer's life count is read as a job starts on it
(kept only when the printer is idle, else another job's sheets would count as this one's) and
again once the job has printed; the difference is kept on the job and compared with the
impressions charged, here alone, whichever of the count and the measurement comes last.

It also answers the forwarder's one question about a job its printer no longer knows: did the
counter move since the job started?"""

from __future__ import annotations

import logging

from ..ipp import JobState
from ..jobs.events import JobEnded, JobMeasured, JobStarted
from ..jobs.manager import JobManager
from ..jobs.record import Job
from ..snmp.metercheck import Meter, MeterSample, mismatch

log = logging.getLogger(__name__)


def charged_impressions(job: Job) -> int | None:
    """The impressions the job is charged for: what document analysis measured, else what the
    printer reported as job-impressions-completed."""
    return job.measured_impressions if job.measured_impressions is not None else job.impressions


class MeterCheck:
    def __init__(self, meter: Meter, jobs: JobManager):
        self.meter = meter
        self.jobs = jobs
        self._before: dict[int, tuple[str, MeterSample]] = {}

    async def job_started(self, event: JobStarted) -> None:
        if not self.meter.covers(event.printer):
            return
        sample = await self.meter.sample(event.printer)
        if sample is not None and sample.idle:
            self._before[event.job.id] = (event.printer, sample)
        else:
            self._before.pop(event.job.id, None)

    async def printed_since_start(self, job: Job, printer: str) -> int | None:
        """What the counter moved by since the job started on `printer`; None when unknown."""
        delta = await self._delta(job, printer)
        self._before.pop(job.id, None)
        return delta

    async def job_ended(self, event: JobEnded) -> None:
        job = event.job
        if job.state != JobState.COMPLETED or job.meter_delta is not None:
            self._before.pop(job.id, None)
            return
        delta = await self._delta(job, job.printer)
        self._before.pop(job.id, None)
        if delta is not None:
            await self._record(job, delta)

    async def job_measured(self, event: JobMeasured) -> None:
        """The counter was read before the measurement ended: compare now."""
        job = event.job
        if job.meter_delta is not None:
            await self._record(job, job.meter_delta)

    async def _delta(self, job: Job, printer: str) -> int | None:
        started = self._before.get(job.id)
        if started is None or started[0] != printer:
            return None
        after = await self.meter.settled(printer)
        return None if after is None else after.count - started[1].count

    async def _record(self, job: Job, delta: int) -> None:
        charged = charged_impressions(job)
        flagged = mismatch(delta, charged)
        await self.jobs.update(job, meter_delta=delta, meter_mismatch=flagged)
        if flagged:
            log.warning(
                "job %d: %s counted %d impressions, printgate charged %s",
                job.id,
                job.printer,
                delta,
                charged,
            )

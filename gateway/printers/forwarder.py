"""Forwards one job to one printer and follows it there to its end.

Each step is recorded before it is taken (forward_phase: creating -> sending -> sent), and a job
found mid-forward after a restart is first reconciled with the printer's own job, by the
upstream job id kept on the record, so nothing is sent twice. A printer that no longer knows a
job it was given makes the job "lost" (failover.resume decides, the same at every moment).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..config import JobsConfig
from ..ipp import Attribute, JobState
from ..ipp import model as m
from ..ipp.supported import decode_template, unsupported_part
from ..jobs.manager import JobManager
from ..jobs.record import Job
from ..jobs.state import (
    Aborted,
    AbortedByPrinter,
    CanceledAtDevice,
    Event,
    ForwardPhase,
    ForwardStarted,
    IllegalTransition,
    JobAlreadyEnded,
    LostByPrinter,
    Printed,
    PrinterStopped,
    Printing,
)
from . import failover
from .backend import ListsJobs, PrinterRefused, UpstreamStatus
from .failover import Failure, Resume, RetryPolicy, Upstream
from .ipp_client import PrinterUnreachable
from .state import Printer

log = logging.getLogger(__name__)

# Attributes that are printgate's business, never the printer's.
NEVER_FORWARD = frozenset(
    {
        "job-hold-until",
        "job-password",
        "job-password-encryption",
        "job-account-id",
        "job-accounting-user-id",
    }
)
# Reasons an upstream job shows while it is still waiting for its document.
INCOMPLETE_REASONS = frozenset({"job-incoming", "job-data-insufficient"})


@dataclass(frozen=True)
class ForwardFailure:
    kind: Failure
    detail: str


def forward_attributes(job: Job, printer: Printer) -> list[Attribute]:
    """The job's template attributes the printer supports, plus who it is really for."""
    attributes = [a for a in decode_template(job.template) if a.name not in NEVER_FORWARD]
    if printer.attributes is None:
        return attributes
    kept = [a for a in attributes if unsupported_part(a, printer.attributes) is None]
    for name, value in (("job-accounting-user-id", job.user),):
        supported = printer.attributes.get(f"{name}-supported")
        if value and supported is not None and supported.value is True:
            kept.append(m.name_(name, value))
    return kept


class MeterWitness(Protocol):
    """What the printer's own counter says a job printed (the meter check, where SNMP is on)."""

    async def printed_since_start(self, job: Job, printer: str) -> int | None: ...


class Forwarder:
    def __init__(self, jobs: JobManager, settings: JobsConfig, witness: MeterWitness | None = None):
        self.jobs = jobs
        self.settings = settings
        self.policy = RetryPolicy(
            settings.retry_initial_delay, settings.retry_max_delay, settings.retry_window
        )
        self.witness = witness

    async def run(self, job: Job, printer: Printer, document: Path) -> ForwardFailure | None:
        """Forward and monitor; None once the job has reached a terminal state."""
        try:
            resume = await self._resume(job, printer)
            if resume is Resume.LOST:
                await self._lost(job, printer)
                return None
            if resume is Resume.SEND:
                await self._submit(job, printer, document)
            return await self._monitor(job, printer)
        except JobAlreadyEnded:
            return None  # canceled while it was being started: nothing more to send
        except IllegalTransition:
            if job.state is JobState.PENDING_HELD:
                return None  # held while it was being started: it waits for its release
            raise
        except PrinterUnreachable as exc:
            return ForwardFailure(Failure.UNREACHABLE, str(exc))
        except PrinterRefused as exc:
            kind = Failure.BUSY if exc.transient else Failure.REJECTED
            return ForwardFailure(kind, str(exc))

    async def _resume(self, job: Job, printer: Printer) -> Resume:
        """Where a job starts: from scratch, or, when the record says the printer may already
        have it, from what the printer answers about it."""
        if job.forward_phase is ForwardPhase.CREATING and job.printer == printer.name:
            await self._sweep(job, printer)
        if job.forward_phase not in (ForwardPhase.SENDING, ForwardPhase.SENT):
            return Resume.SEND
        status = await printer.backend.job_status(job.upstream_job_id)
        resume = failover.resume(job.forward_phase, upstream_view(status))
        if resume is Resume.SEND and status is not None and not status.state.is_terminal:
            await printer.backend.cancel(job.upstream_job_id)  # an empty job left by a crash
        if resume is Resume.MONITOR and job.forward_phase is not ForwardPhase.SENT:
            log.info(
                "job %d: printer %s already has it as job %d",
                job.id,
                printer.name,
                job.upstream_job_id,
            )
            await self.jobs.update(job, forward_phase=ForwardPhase.SENT)
        return resume

    async def _sweep(self, job: Job, printer: Printer) -> None:
        """The last Create-Job to this printer was not answered (a crash, a timeout): the
        printer may hold a job of it waiting for a document that will never come, and a
        printer that takes one job at a time takes no other. Cancel it there."""
        backend = printer.backend
        if not isinstance(backend, ListsJobs):
            return
        in_use = {
            j.upstream_job_id
            for j in self.jobs.active.values()
            if j.printer == printer.name and j.id != job.id
        }
        try:
            left = await backend.waiting_for_document(upstream_name(job))
        except PrinterRefused as exc:  # it cannot list its jobs: nothing to find
            log.info("job %d: %s lists no jobs: %s", job.id, printer.name, exc)
            return
        for upstream_id in left:
            if upstream_id not in in_use:
                log.info(
                    "job %d: canceling job %d left at %s without its document",
                    job.id,
                    upstream_id,
                    printer.name,
                )
                await backend.cancel(upstream_id)

    async def _submit(self, job: Job, printer: Printer, document: Path) -> None:
        await self.jobs.apply(
            job,
            ForwardStarted(printer.name),
            printer=printer.name,
            upstream_uri=printer.backend.uri,
            upstream_job_id=0,
            forward_phase=ForwardPhase.CREATING,
            attempts=job.attempts + 1,
        )

        async def created(upstream_id: int) -> None:
            await self.jobs.update(
                job, upstream_job_id=upstream_id, forward_phase=ForwardPhase.SENDING
            )

        upstream_id = await printer.backend.submit(
            forward_attributes(job, printer),
            document,
            job.document_format,
            upstream_name(job),
            job.uuid.removeprefix("urn:uuid:"),
            created,
        )
        await self.jobs.update(job, upstream_job_id=upstream_id, forward_phase=ForwardPhase.SENT)

    async def _monitor(self, job: Job, printer: Printer) -> ForwardFailure | None:
        delay = 0.1
        lost_since: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            try:
                status = await printer.backend.job_status(job.upstream_job_id)
                lost_since = None
            except PrinterUnreachable as exc:
                # The printer has the document: never send it again, only wait for it.
                lost_since = lost_since or loop.time()
                if self.policy.expired(lost_since, loop.time()):
                    await self.jobs.apply(job, Aborted(f"Lost contact with {printer.name}: {exc}"))
                    return None
                await self._show(job, PrinterStopped(f"Waiting for {printer.name}: {exc}"))
            else:
                if status is None:
                    await self._lost(job, printer)
                    return None
                if status.state.is_terminal:
                    await self._finish(job, printer, status)
                    return None
                await self._mirror(job, printer, status)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.settings.monitor_interval)

    async def _mirror(self, job: Job, printer: Printer, status: UpstreamStatus) -> None:
        if status.state in (JobState.PROCESSING_STOPPED, JobState.PENDING_HELD):
            await self._show(job, PrinterStopped(status.message or f"Stopped at {printer.name}"))
        else:
            await self._show(job, Printing(printer.name))

    async def _show(self, job: Job, event: Event) -> None:
        if job.reasons != event.reasons or job.message != event.message:
            await self.jobs.apply(job, event)

    async def _finish(self, job: Job, printer: Printer, status: UpstreamStatus) -> None:
        counters = {
            k: v
            for k, v in (
                ("impressions", status.impressions),
                ("media_sheets", status.media_sheets),
                ("pages", status.pages),
            )
            if v
        }
        if status.state == JobState.COMPLETED:
            await self.jobs.apply(job, Printed(printer.name), **counters)
        elif status.state == JobState.CANCELED:
            await self.jobs.apply(job, CanceledAtDevice(printer.name), **counters)
        else:
            detail = status.message or ", ".join(status.reasons) or "aborted"
            await self.jobs.apply(
                job,
                AbortedByPrinter(printer.name, detail),
                failure_reason=f"aborted by {printer.name}: {detail}",
                **counters,
            )

    async def _lost(self, job: Job, printer: Printer) -> None:
        """The printer answers but no longer knows the job. Only its own counter can say the job
        printed; without that it is recorded as lost, neither charged nor sent again."""
        printed = None
        if self.witness is not None:
            printed = await self.witness.printed_since_start(job, printer.name)
        log.warning(
            "job %d: %s no longer knows its job %d (%s)",
            job.id,
            printer.name,
            job.upstream_job_id,
            f"its counter shows {printed} impressions" if printed else "not known to have printed",
        )
        if printed:
            await self.jobs.apply(
                job,
                Printed(printer.name, f"it no longer knows the job; its counter shows {printed}"),
                forward_phase=ForwardPhase.LOST,
                meter_delta=printed,
            )
        else:
            await self.jobs.apply(
                job,
                LostByPrinter(printer.name),
                forward_phase=ForwardPhase.LOST,
                failure_reason=f"{printer.name} no longer knows job {job.upstream_job_id}",
            )


def upstream_name(job: Job) -> str:
    """The job-name the printer is given (and by which a job left there is found again)."""
    return job.name or f"job {job.id}"


def upstream_view(status: UpstreamStatus | None) -> Upstream:
    """What the printer's answer about a job means for resuming it."""
    if status is None:
        return Upstream.UNKNOWN
    if status.state in (JobState.ABORTED, JobState.CANCELED):
        return Upstream.INCOMPLETE  # ended without printing the document we sent
    if status.state in (JobState.PENDING, JobState.PENDING_HELD) and bool(
        INCOMPLETE_REASONS & set(status.reasons)
    ):
        return Upstream.INCOMPLETE  # still waiting for a document whose upload was cut off
    return Upstream.HAS_IT

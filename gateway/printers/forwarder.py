"""Forwards one job to one printer and follows it there to its end.

Each step is recorded before it is taken (forward_phase: creating -> sending -> sent), and a job
found mid-forward after a restart is first reconciled with the printer's own job, by the
upstream job id kept on the record, so nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from ..config import JobsConfig
from ..ipp import Attribute, JobState
from ..ipp import model as m
from ..ipp.supported import decode_template, unsupported_part
from ..jobs.manager import Job, JobEnded, JobManager
from ..snmp.metercheck import Meter, MeterSample, verdict
from .failover import Failure
from .ipp_client import PrinterUnreachable
from .state import PrinterRefused, PrinterState, UpstreamStatus

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


def forward_attributes(job: Job, printer: PrinterState) -> list[Attribute]:
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


class Forwarder:
    def __init__(self, jobs: JobManager, settings: JobsConfig, meter: Meter | None = None):
        self.jobs = jobs
        self.settings = settings
        self.meter = meter

    async def run(self, job: Job, printer: PrinterState, document: Path) -> ForwardFailure | None:
        """Forward and monitor; None once the job has reached a terminal state."""
        try:
            before: MeterSample | None = None
            if not await self._printer_has_it(job, printer):
                before = await self._meter_before(printer)
                await self._submit(job, printer, document)
            failure = await self._monitor(job, printer)
            if failure is None and before is not None:
                await self._meter_after(job, printer, before)
            return failure
        except JobEnded:
            return None  # canceled while it was being started: nothing more to send
        except PrinterUnreachable as exc:
            return ForwardFailure(Failure.UNREACHABLE, str(exc))
        except PrinterRefused as exc:
            kind = Failure.BUSY if exc.transient else Failure.REJECTED
            return ForwardFailure(kind, str(exc))

    async def _meter_before(self, printer: PrinterState) -> MeterSample | None:
        """The printer's life count, if it has SNMP and is idle (else the check is skipped:
        another job's sheets would be counted as this one's)."""
        if self.meter is None or not self.meter.covers(printer.name):
            return None
        sample = await self.meter.sample(printer.name)
        return sample if sample is not None and sample.idle else None

    async def _meter_after(self, job: Job, printer: PrinterState, before: MeterSample) -> None:
        if self.meter is None or job.state != JobState.COMPLETED:
            return
        after = await self.meter.settled(printer.name)
        if after is None:
            return
        charged = _charged_impressions(job)
        delta, mismatch = verdict(before, after, charged)
        await self.jobs.update(job, meter_delta=delta, meter_mismatch=mismatch)
        if mismatch:
            log.warning(
                "job %d: %s counted %d impressions, printgate charged %s",
                job.id,
                printer.name,
                delta,
                charged,
            )

    async def _printer_has_it(self, job: Job, printer: PrinterState) -> bool:
        if job.forward_phase == "sent":
            return True
        if job.forward_phase != "sending" or not job.upstream_job_id:
            return False
        status = await printer.backend.job_status(job.upstream_job_id)
        if status is not None and not _incomplete(status):
            log.info(
                "job %d: printer %s already has it as job %d",
                job.id,
                printer.name,
                job.upstream_job_id,
            )
            await self.jobs.update(job, forward_phase="sent")
            return True
        if status is not None and not status.state.is_terminal:
            await printer.backend.cancel(job.upstream_job_id)  # an empty job left by the crash
        return False

    async def _submit(self, job: Job, printer: PrinterState, document: Path) -> None:
        await self.jobs.transition(
            job,
            JobState.PROCESSING,
            ("job-transforming",),
            f"Sending to {printer.name}",
            printer=printer.name,
            upstream_uri=printer.backend.uri,
            upstream_job_id=0,
            forward_phase="creating",
            attempts=job.attempts + 1,
        )

        async def created(upstream_id: int) -> None:
            await self.jobs.update(job, upstream_job_id=upstream_id, forward_phase="sending")

        upstream_id = await printer.backend.submit(
            forward_attributes(job, printer),
            document,
            job.document_format,
            job.name or f"job {job.id}",
            job.uuid.removeprefix("urn:uuid:"),
            created,
        )
        await self.jobs.update(job, upstream_job_id=upstream_id, forward_phase="sent")

    async def _monitor(self, job: Job, printer: PrinterState) -> ForwardFailure | None:
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
                if loop.time() - lost_since > self.settings.retry_window:
                    await self._finish(
                        job,
                        JobState.ABORTED,
                        ("job-aborted-by-system",),
                        f"Lost contact with {printer.name}: {exc}",
                    )
                    return None
                await self._show(
                    job,
                    JobState.PROCESSING_STOPPED,
                    ("printer-stopped",),
                    f"Waiting for {printer.name}: {exc}",
                )
                status = None
            else:
                if status is None:
                    await self._finish(
                        job,
                        JobState.COMPLETED,
                        ("job-completed-successfully",),
                        f"Printed on {printer.name}",
                    )
                    return None
                if status.state.is_terminal:
                    await self._finish_from(job, printer, status)
                    return None
                await self._mirror(job, printer, status)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.settings.monitor_interval)

    async def _mirror(self, job: Job, printer: PrinterState, status: UpstreamStatus) -> None:
        if status.state in (JobState.PROCESSING_STOPPED, JobState.PENDING_HELD):
            await self._show(
                job,
                JobState.PROCESSING_STOPPED,
                ("printer-stopped",),
                status.message or f"Stopped at {printer.name}",
            )
        else:
            await self._show(
                job, JobState.PROCESSING, ("job-printing",), f"Printing on {printer.name}"
            )

    async def _show(
        self, job: Job, state: JobState, reasons: tuple[str, ...], message: str
    ) -> None:
        if job.state != state or job.reasons != reasons or job.message != message:
            await self.jobs.transition(job, state, reasons, message)

    async def _finish_from(self, job: Job, printer: PrinterState, status: UpstreamStatus) -> None:
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
            await self._finish(
                job,
                JobState.COMPLETED,
                ("job-completed-successfully",),
                f"Printed on {printer.name}",
                **counters,
            )
        elif status.state == JobState.CANCELED:
            await self._finish(
                job,
                JobState.CANCELED,
                ("job-canceled-at-device",),
                f"Canceled at {printer.name}",
                **counters,
            )
        else:
            detail = status.message or ", ".join(status.reasons) or "aborted"
            await self._finish(
                job,
                JobState.ABORTED,
                ("job-aborted-by-system",),
                f"{printer.name} aborted the job: {detail}",
                failure_reason=f"aborted by {printer.name}: {detail}",
                **counters,
            )

    async def _finish(
        self, job: Job, state: JobState, reasons: tuple[str, ...], message: str, **changes: object
    ) -> None:
        await self.jobs.transition(job, state, reasons, message, **changes)


def _charged_impressions(job: Job) -> int | None:
    """The impressions the job is charged for: what document analysis measured, else what the
    printer reported as job-impressions-completed."""
    return job.measured_impressions if job.measured_impressions is not None else job.impressions


def _incomplete(status: UpstreamStatus) -> bool:
    """Did the printer end up without the whole document (the upload was cut off)?"""
    if status.state in (JobState.ABORTED, JobState.CANCELED):
        return True
    return status.state in (JobState.PENDING, JobState.PENDING_HELD) and bool(
        INCOMPLETE_REASONS & set(status.reasons)
    )

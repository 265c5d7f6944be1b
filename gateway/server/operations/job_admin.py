"""Operations that print a job again or change when it prints (RFC 8011 Restart-Job, PWG 5100.11
Reprocess-Job, Resubmit-Job, Suspend-Current-Job, Resume-Job, Promote-Job, Schedule-Job-After).

printgate keeps a job's document until the job is charged, then deletes it: a finished job can
be printed again only while its document is still spooled; otherwise the answer says why.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid

from ...ipp import JobState, Status, Tag
from ...jobs.events import DocumentSpooled
from ...jobs.record import Job
from ...jobs.state import HELD, HeldBySubmitter, Queued, ready
from ..queue_attrs import QueueView
from .admin import Admin
from .core import IppError, IppRequest, Reply, _op_attr
from .privacy import authorize

# Reasons a job shows while an operator keeps it from printing (Suspend-Current-Job).
SUSPENDED = "job-suspended-by-operator"


class JobAdmin(Admin):
    async def restart_job(self, request: IppRequest, queue: QueueView) -> Reply:
        """Print a finished job again, as a new job (its record is the accounting of the first
        printing, and stays as it is)."""
        job = await self._job(request, queue)
        await authorize(self.gw, request, queue, job)
        again = await self._again(job)
        return self._job_reply(request, again, Status.OK, [])

    async def reprocess_job(self, request: IppRequest, queue: QueueView) -> Reply:
        await self._operator(request, queue)
        job = await self._job(request, queue)
        again = await self._again(job)
        return self._job_reply(request, again, Status.OK, [])

    async def resubmit_job(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        await authorize(self.gw, request, queue, job)
        if request.message.group(Tag.JOB) is not None:
            raise IppError(
                Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                "Resubmit-Job takes no new job template attributes here: "
                "change them with Set-Job-Attributes",
            )
        again = await self._again(job)
        return self._job_reply(request, again, Status.OK, [])

    async def _again(self, job: Job) -> Job:
        if not job.is_terminal:
            raise IppError(Status.NOT_POSSIBLE, f"job {job.id} has not finished")
        source = self.gw.spool.root / job.document_path if job.document_path else None
        if source is None or not await asyncio.to_thread(source.is_file):
            raise IppError(
                Status.NOT_POSSIBLE,
                f"the document of job {job.id} is no longer kept (printgate deletes it once "
                "the job is charged)",
            )
        copy = self.gw.spool.root / f"{uuid.uuid4().hex}.doc"
        await asyncio.to_thread(shutil.copyfile, source, copy)
        try:
            again = await self.gw.jobs.create(
                ready(job.hold_until or "no-hold"),
                uuid=f"urn:uuid:{uuid.uuid4()}",
                queue=job.queue,
                name=job.name,
                user=job.user,
                project=job.project,
                department=job.department,
                origin_host=job.origin_host,
                template=job.template,
                hold_until=job.hold_until,
                copies=job.copies,
                sides=job.sides,
                color_mode=job.color_mode,
                media=job.media,
                document_path=copy.name,
                document_bytes=job.document_bytes,
                document_format=job.document_format,
                document_name=job.document_name,
            )
        except BaseException:
            await self.gw.spool.remove(copy)
            raise
        await self.gw.jobs.hooks.emit(DocumentSpooled(again))
        self.gw.dispatcher.submit(again)
        return again

    async def suspend_current_job(self, request: IppRequest, queue: QueueView) -> Reply:
        """Keep the queue's next job (or the one named) from starting. A job its printer already
        has cannot be suspended there: that is answered not-possible."""
        await self._operator(request, queue)
        wanted = _op_attr(request, "job-id")
        if wanted is not None:
            job = await self._job(request, queue)
        else:
            waiting = await self.gw.jobs.list(
                queue.name, (JobState.PROCESSING_STOPPED, JobState.PENDING)
            )
            if not waiting:
                raise IppError(Status.NOT_POSSIBLE, "no job of this queue is waiting to print")
            job = waiting[0]
        if job.state not in (JobState.PENDING, JobState.PROCESSING_STOPPED) or job.upstream_job_id:
            raise IppError(
                Status.NOT_POSSIBLE, f"job {job.id} is {job.state.name.lower()}: not suspendable"
            )
        await self.gw.jobs.apply(job, HeldBySubmitter(), hold_until="indefinite")
        return self._job_reply(request, job, Status.OK, [])

    async def resume_job(self, request: IppRequest, queue: QueueView) -> Reply:
        await self._operator(request, queue)
        job = await self._job(request, queue)
        if job.state != JobState.PENDING_HELD or HELD not in job.reasons:
            raise IppError(Status.NOT_POSSIBLE, f"job {job.id} is not suspended")
        await self.gw.jobs.apply(job, Queued(), hold_until="no-hold")
        self.gw.dispatcher.submit(job)
        return self.response(request, Status.OK)

    async def promote_job(self, request: IppRequest, queue: QueueView) -> Reply:
        await self._operator(request, queue)
        job = await self._job(request, queue)
        if job.state != JobState.PENDING:
            raise IppError(Status.NOT_POSSIBLE, f"job {job.id} is not waiting to print")
        self.gw.dispatcher.promote(job)
        return self.response(request, Status.OK)

    async def schedule_job_after(self, request: IppRequest, queue: QueueView) -> Reply:
        """printgate prints a queue's jobs in order of arrival: a job is already after every
        earlier one. Later ones cannot be put before it, and that is answered not-possible."""
        await self._operator(request, queue)
        job = await self._job(request, queue)
        after = _op_attr(request, "job-id-after")
        if job.state != JobState.PENDING:
            raise IppError(Status.NOT_POSSIBLE, f"job {job.id} is not waiting to print")
        if after is not None:
            other = await self.gw.jobs.get(after.integer() or 0)
            if other is None or other.queue != queue.name:
                raise IppError(Status.NOT_FOUND, "job-id-after names no job of this queue")
            later = [other] if other.id > job.id and not other.is_terminal else []
        else:  # after all the others
            waiting = await self.gw.jobs.list(queue.name, (JobState.PENDING,))
            later = [j for j in waiting if j.id > job.id]
        if later:
            raise IppError(
                Status.NOT_POSSIBLE,
                f"job {later[0].id} came after job {job.id}: use Promote-Job on it instead",
            )
        return self.response(request, Status.OK)

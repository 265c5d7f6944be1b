"""Operations on existing jobs: Cancel-Job, Cancel-My-Jobs, Hold-Job, Release-Job and
Set-Job-Attributes (which also complete the credentials of a job the gate held)."""

from __future__ import annotations

from ...identity.gate import Outcome
from ...identity.release import held_for_credentials
from ...ipp import JobState, Status
from ...ipp import model as m
from ...ipp.supported import decode_template
from ...jobs.record import Job
from ...jobs.state import ACTIVE_STATES, HELD, INCOMING, HeldBySubmitter, Queued
from ..queue_attrs import HOLD_UNTIL, QueueView
from .core import (
    AuthenticationRequired,
    Core,
    IppError,
    IppRequest,
    Reply,
    _op_attr,
    _op_text,
    presented,
    requesting_user,
)
from .privacy import authorize, requester


class Control(Core):
    async def cancel_job(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        await authorize(self.gw, request, queue, job)
        if job.is_terminal:
            raise IppError(Status.NOT_POSSIBLE, f"job {job.id} is already {job.state.name.lower()}")
        await self.gw.dispatcher.cancel(
            job, "job-canceled-by-user", f"Canceled by {requesting_user(request)}"
        )
        return self.response(request, Status.OK)

    async def cancel_my_jobs(self, request: IppRequest, queue: QueueView) -> Reply:
        asker = await requester(self.gw, request, queue)
        if not asker.name:  # a queue that asks for passwords, and none (or a wrong one) came
            raise AuthenticationRequired(
                f"printgate {queue.name}", "user name and password required"
            )
        user = asker.name
        ids_attr = _op_attr(request, "job-ids")
        wanted = {v for v in ids_attr.python_values() if isinstance(v, int)} if ids_attr else None
        jobs = await self.gw.jobs.list(queue.name, ACTIVE_STATES, user=user)
        for job in jobs:
            if wanted is None or job.id in wanted:
                await self.gw.dispatcher.cancel(job, "job-canceled-by-user", f"Canceled by {user}")
        return self.response(request, Status.OK)

    async def hold_job(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        await authorize(self.gw, request, queue, job)
        until = _op_text(request, "job-hold-until") or "indefinite"
        if until not in HOLD_UNTIL:
            raise IppError(
                Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                "job-hold-until value",
                [m.keyword("job-hold-until", until)],
            )
        if INCOMING in job.reasons:
            await self.gw.jobs.update(job, hold_until=until)
        elif job.state == JobState.PENDING:
            if until != "no-hold":
                await self.gw.jobs.apply(job, HeldBySubmitter(), hold_until=until)
        elif job.state != JobState.PENDING_HELD:
            raise IppError(Status.NOT_POSSIBLE, f"job {job.id} can no longer be held")
        return self.response(request, Status.OK)

    async def release_job(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        if held_for_credentials(job):
            return await self._readmit(request, queue, job)
        await authorize(self.gw, request, queue, job)
        if INCOMING in job.reasons:
            await self.gw.jobs.update(job, hold_until="no-hold")
        elif job.state == JobState.PENDING_HELD and HELD in job.reasons:
            await self.gw.jobs.apply(job, Queued(), hold_until="no-hold")
            self.gw.dispatcher.submit(job)
        else:
            raise IppError(Status.NOT_POSSIBLE, f"job {job.id} is not held")
        return self.response(request, Status.OK)

    async def _readmit(self, request: IppRequest, queue: QueueView, job: Job) -> Reply:
        decision = await self.gw.desk.readmit(
            job, presented(request, decode_template(job.template))
        )
        if decision.outcome is Outcome.CHALLENGE:
            raise AuthenticationRequired(f"printgate {queue.name}", decision.message)
        if not decision.accepted:
            raise IppError(Status.NOT_AUTHORIZED, decision.message)
        return self._job_reply(request, job, Status.OK, [])

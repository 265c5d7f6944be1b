"""Held jobs: what a claim in My printing (and IPP's Release-Job / Set-Job-Attributes) does
with a job the gate held, and the expiry of jobs nobody claims.

A job held for credentials keeps what its client sent; whoever claims it brings the rest (who
they are, project, department, billable, comment), and the gate decides again. My printing's
claimant has proved who they are at its sign-in (`Claim.proven`), so only the accounts and
their passwords are checked again."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from ..config import QueueConfig
from ..ipp import JobState
from ..ipp.supported import decode_template
from ..jobs.manager import JobManager
from ..jobs.record import Job
from ..jobs.state import INCOMING, AwaitingDocument, Event, ready
from ..printers.dispatcher import Dispatcher
from ..store.store import now
from .gate import AUTH_FAILED, INFO_NEEDED, Decision, Gate, Presented

log = logging.getLogger(__name__)
ACCOUNT_REASONS = frozenset({INFO_NEEDED, AUTH_FAILED})
EXPIRY_CHECK_INTERVAL = 30.0


class ReleaseError(Exception):
    """The claim cannot be done; the message is for the person claiming."""


def held_for_credentials(job: Job) -> bool:
    return job.state == JobState.PENDING_HELD and bool(ACCOUNT_REASONS & set(job.reasons))


def stored_account_id(job: Job) -> str | None:
    for attribute in decode_template(job.template):
        if attribute.name == "job-account-id":
            return attribute.text()
    return None


@dataclass(frozen=True)
class Claim:
    user: str
    password: str | None = None
    project: str = ""
    department: str = ""
    project_password: str | None = None
    department_password: str | None = None
    billable: bool | None = None  # None: the queue's default (billable)
    comment: str = ""
    # user is the person My printing's sign-in proved for the job's queue (password unused).
    proven: bool = False


class ReleaseDesk:
    """queues and graceful are the live maps of the queues served now (the console adds,
    changes and removes queues in them while printgate runs): each queue's settings as the
    claims apply them, and whether its primary printer fails over gracefully."""

    def __init__(
        self,
        jobs: JobManager,
        dispatcher: Dispatcher,
        gate: Gate,
        queues: dict[str, QueueConfig],
        graceful: dict[str, bool],
    ):
        self.jobs = jobs
        self.dispatcher = dispatcher
        self.gate = gate
        self.queues = queues
        self.graceful = graceful

    async def held(self, queue: str | None = None, user: str | None = None) -> list[Job]:
        """Jobs waiting for credentials, oldest first (a user's own, when user is given)."""
        jobs = [
            j
            for j in sorted(self.jobs.active.values(), key=lambda j: j.id)
            if held_for_credentials(j) and (queue is None or j.queue == queue)
        ]
        return [j for j in jobs if user is None or j.user == user]

    async def readmit(self, job: Job, presented: Presented) -> Decision:
        """Run the gate again for a held job; release it when it passes."""
        queue = self.queues[job.queue]
        decision = await self.gate.decide(queue, presented, self.graceful[job.queue])
        if decision.accepted:
            await self._release(job, decision)
        return decision

    async def claim(self, job_id: int, claim: Claim) -> Job:
        job = self.jobs.active.get(job_id)
        if job is None or not held_for_credentials(job):
            raise ReleaseError(f"job {job_id} is not waiting for credentials")
        queue = self.queues.get(job.queue)
        if queue is None:
            raise ReleaseError(f"the queue {job.queue} no longer exists")
        account = "/".join(x for x in (claim.project, claim.department) if x) or stored_account_id(
            job
        )
        presented = Presented(
            http_user=claim.user,
            http_password=claim.password,
            account_id=account,
            project_password=claim.project_password,
            department_password=claim.department_password,
            can_challenge=False,
            proven_user=claim.user if claim.proven else None,
        )
        decision = await self.gate.decide(queue, presented, self.graceful.get(job.queue, True))
        if not decision.accepted:
            raise ReleaseError(decision.message or "the credentials were refused")
        billable = claim.billable if claim.billable is not None and queue.allow_billable else True
        comment = claim.comment[:1000] if queue.allow_comment else ""
        await self._release(job, decision, billable=billable, comment=comment)
        return job

    async def cancel(self, job_id: int, by: str) -> None:
        job = self.jobs.active.get(job_id)
        if job is None or not held_for_credentials(job):
            raise ReleaseError(f"job {job_id} is not waiting for credentials")
        await self.dispatcher.cancel(job, "job-canceled-by-user", f"Canceled by {by}")

    async def _release(self, job: Job, decision: Decision, **extra: object) -> None:
        event: Event = ready(job.hold_until)
        if INCOMING in job.reasons:  # the document is still to come: open, no longer held
            event = AwaitingDocument()
        await self.jobs.apply(
            job,
            event,
            user=decision.user,
            project=decision.project,
            department=decision.department,
            released_at=now(),
            **extra,
        )
        log.info(
            "job %d released for %s (%s/%s)",
            job.id,
            decision.user,
            decision.project,
            decision.department,
        )
        self.dispatcher.submit(job)

    async def expire_loop(self, hold_expiry: float) -> None:
        """Cancel held jobs nobody released in time; their records stay."""
        while True:
            await asyncio.sleep(min(EXPIRY_CHECK_INTERVAL, hold_expiry / 4))
            await self.expire(hold_expiry)

    async def expire(self, hold_expiry: float) -> int:
        cutoff = now() - timedelta(seconds=hold_expiry)
        expired = [
            j
            for j in list(self.jobs.active.values())
            if j.state == JobState.PENDING_HELD and j.created_at < cutoff
        ]
        for job in expired:
            await self.dispatcher.cancel(
                job,
                "job-canceled-by-system",
                f"Expired: not released within {hold_expiry / 3600:g} hours",
            )
        return len(expired)

"""The job manager: the only place a job's state changes. It applies the events of the state
table (jobs/state.py), writes each change to the store before it is applied in memory or acted
on, so after a crash the store says exactly how far each job got, then tells the addons.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..hooks import Hooks
from ..ipp.enums import JobState
from ..store.journal import Journal
from ..store.store import Store, StoreUnavailable, now
from .events import JobAccepted, JobEnded, JobStarted, JobStateChanged
from .record import Job, stored_value
from .state import (
    ACTIVE_STATES,
    EVENT_FIELDS,
    TERMINAL_STATES,
    Event,
    ForwardStarted,
    next_state,
)

log = logging.getLogger(__name__)


def _log_state(job: Job) -> None:
    log.info("job %d %s %s %s", job.id, job.state.name.lower(), ",".join(job.reasons), job.message)


def _check_fields(changes: dict[str, Any]) -> None:
    refused = EVENT_FIELDS & changes.keys()
    if refused:
        raise ValueError(f"{', '.join(sorted(refused))}: changed only by a state table event")


def _stored(changes: dict[str, Any]) -> dict[str, Any]:
    return {name: stored_value(name, value) for name, value in changes.items()}


@dataclass
class JobManager:
    """Owns the in-memory active jobs and their persistence; wakes whoever waits on changes."""

    store: Store
    instance: str = ""  # this printgate's id: it resumes only the jobs it took in
    journal: Journal | None = None  # where job writes go while the store is unreachable
    hooks: Hooks = field(default_factory=Hooks)  # told of every job's changes (addons)
    active: dict[int, Job] = field(default_factory=dict)
    # One transition of a job at a time: a transition is checked against the state it will
    # change, and the store write between check and change must not let another slip in
    # (a Cancel-Job while the dispatcher starts the same job).
    _turns: dict[int, asyncio.Lock] = field(default_factory=dict)

    async def load_active(self) -> list[Job]:
        """The unfinished jobs this printgate took in; a journal left by an outage is written
        into the store first, so they are all there."""
        if self.journal is not None and self.journal.entries():
            await self.store.replay(self.journal.entries())
            self.journal.clear()
        rows = await self.store.list_jobs(
            None, [int(s) for s in ACTIVE_STATES], instance=self.instance
        )
        self.active = {row.id: Job.from_row(row) for row in rows}
        return list(self.active.values())

    async def create(
        self, event: Event, settle_document: Callable[[], None] | None = None, **values: Any
    ) -> Job:
        """A new job, in the state the event gives a new one. settle_document: makes its
        document durable (the spool's deferred receive); the store runs it, for a whole batch
        of new jobs at once, before their rows commit."""
        _check_fields(values)
        values.setdefault("created_at", now())
        values.setdefault("instance", self.instance)
        job = Job(
            id=0,
            state=next_state(None, event),
            reasons=event.reasons,
            message=event.message,
            **values,
        )
        fields = job.row_fields()
        del fields["id"]
        job.id = await self._write_new(fields, settle_document)
        if not job.is_terminal:
            self.active[job.id] = job
        log.info(
            "job %d %s %s %s", job.id, job.state.name.lower(), ",".join(job.reasons), job.message
        )
        await self.hooks.emit(JobAccepted(job))
        return job

    async def apply(self, job: Job, event: Event, **changes: Any) -> None:
        """Take the job where the state table says the event takes it, with the event's reasons
        and message and the given field changes, persisted first; then tell the addons."""
        _check_fields(changes)
        turn = self._turns.setdefault(job.id, asyncio.Lock())
        async with turn:
            previous = job.state
            state = next_state(previous, event)
            changes.update(state=state, reasons=event.reasons, message=event.message)
            if state == JobState.PROCESSING and job.processing_at is None:
                changes.setdefault("processing_at", now())
            if state in TERMINAL_STATES:
                changes.setdefault("completed_at", now())
            await self._persist(job, changes)
        if job.is_terminal:
            self._turns.pop(job.id, None)
        _log_state(job)
        await self.hooks.emit(JobStateChanged(job, previous))
        if isinstance(event, ForwardStarted):
            await self.hooks.emit(JobStarted(job, event.printer))
        if job.is_terminal:
            await self.hooks.emit(JobEnded(job))

    async def update(self, job: Job, **changes: Any) -> None:
        """Persist then apply field changes; the state, reasons and message change only by
        `apply`."""
        _check_fields(changes)
        await self._persist(job, changes)

    async def update_many(self, changes: list[tuple[Job, dict[str, Any]]]) -> None:
        """`update` for several jobs, in one store write."""
        for _, fields in changes:
            _check_fields(fields)
        if not changes:
            return
        await self._write_changes([(job.id, _stored(fields)) for job, fields in changes])
        for job, fields in changes:
            self._apply_fields(job, fields)

    async def _persist(self, job: Job, changes: dict[str, Any]) -> None:
        await self._write_changes([(job.id, _stored(changes))])
        self._apply_fields(job, changes)

    def _apply_fields(self, job: Job, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(job, name, value)
        if job.is_terminal:
            self.active.pop(job.id, None)

    # --- the store, or the journal while the store is unreachable ---------------------------

    async def _write_new(
        self, fields: dict[str, Any], settle_document: Callable[[], None] | None
    ) -> int:
        if self.journal is None or not self.journal.active:
            try:
                return await self.store.insert_job(fields, before=settle_document)
            except StoreUnavailable:
                if self.journal is None:
                    raise
        if settle_document is not None:  # the store did not get to it
            await asyncio.to_thread(settle_document)
        async with self.journal.lock:
            job_id = self.journal.new_id()
            await self.journal.append("insert", job_id, {**fields, "id": job_id})
        return job_id

    async def _write_changes(self, changes: list[tuple[int, dict[str, Any]]]) -> None:
        # Once the journal has begun, every write goes there until it is replayed, so the store
        # receives them in the order they happened.
        if self.journal is None or not self.journal.active:
            try:
                await self.store.update_jobs(changes)
                return
            except StoreUnavailable:
                if self.journal is None:
                    raise
        async with self.journal.lock:
            for job_id, fields in changes:
                await self.journal.append("update", job_id, fields)

    async def replay_loop(self, interval: float = 2.0) -> None:
        """Write the journal into the store as soon as the store answers again."""
        assert self.journal is not None
        while True:
            await asyncio.sleep(interval)
            if not self.journal.active:
                continue
            async with self.journal.lock:
                try:
                    await self.store.replay(self.journal.entries())
                except StoreUnavailable:
                    continue
                log.info(
                    "accounting store is back: %d journaled writes recorded",
                    len(self.journal.entries()),
                )
                self.journal.clear()

    async def get(self, job_id: int) -> Job | None:
        if job_id in self.active:
            return self.active[job_id]
        row = await self.store.get_job(job_id)
        return Job.from_row(row) if row is not None else None

    async def list(
        self,
        queue: str,
        states: Iterable[JobState],
        user: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Job]:
        wanted = set(states)
        if wanted <= set(ACTIVE_STATES):  # answered from memory, in job-id order
            jobs = [
                j
                for j in sorted(self.active.values(), key=lambda j: j.id, reverse=newest_first)
                if j.queue == queue and j.state in wanted and (user is None or j.user == user)
            ]
            return jobs[:limit] if limit else jobs
        rows = await self.store.list_jobs(
            queue, [int(s) for s in wanted], user, limit, newest_first
        )
        return [self.active.get(row.id) or Job.from_row(row) for row in rows]

    def queued_count(self, queue: str) -> int:
        return sum(1 for j in self.active.values() if j.queue == queue)

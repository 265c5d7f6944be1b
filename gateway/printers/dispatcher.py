"""One loop per queue: takes its jobs in order, picks a printer by the failover policy, runs the
forwarder, and keeps a job spooled and retrying until it prints or its retry window ends.

Queues come and go while printgate runs (the console saves them): `set_queue` starts or updates
a queue's loop, `remove_queue` ends it; each attempt reads the queue's members as they are now."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..config import Config, QueueConfig
from ..ipp import JobState
from ..jobs.manager import JobManager
from ..jobs.record import Job
from ..jobs.spool import Spool
from ..jobs.state import Aborted, Canceled, ForwardPhase, PrinterStopped
from ..tasks import TaskKeeper
from . import failover
from .backend import PrinterRefused
from .failover import Candidate, Failure, Next, RetryPolicy
from .forwarder import Forwarder, ForwardFailure, MeterWitness
from .ipp_client import PrinterUnreachable
from .state import Printer, refresh

log = logging.getLogger(__name__)
RUNNABLE = (JobState.PROCESSING, JobState.PROCESSING_STOPPED, JobState.PENDING)


@dataclass
class _Retry:
    first_failure: float | None = None
    failures: int = 0
    rejected_by: set[str] = field(default_factory=set)


class Dispatcher:
    def __init__(
        self,
        config: Config,
        jobs: JobManager,
        printers: dict[str, Printer],
        spool: Spool,
        tasks: TaskKeeper,
        witness: MeterWitness | None = None,
        queues: Iterable[QueueConfig] | None = None,
    ):
        """queues: those to serve (default: the config's)."""
        self.config = config
        self.jobs = jobs
        self.printers = printers
        self.spool = spool
        self.tasks = tasks
        self.policy = RetryPolicy(
            config.jobs.retry_initial_delay, config.jobs.retry_max_delay, config.jobs.retry_window
        )
        self.forwarder = Forwarder(jobs, config.jobs, witness)
        self.queues: dict[str, QueueConfig] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._current: dict[str, tuple[int, asyncio.Task[ForwardFailure | None]]] = {}
        self._retry: dict[int, _Retry] = {}
        self._canceling: set[int] = set()  # jobs whose cancel is under way
        # Per queue, a heap of (is-new, job id) of jobs that may be runnable; entries for jobs
        # that no longer are get dropped when they reach the top.
        self._runnable: dict[str, list[tuple[bool, int]]] = {}
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._started = False
        # Is the queue paused by an operator (no job of it starts; see resume_queue)?
        self.held_back: Callable[[str], bool] = lambda queue: False
        for queue in config.queues if queues is None else queues:
            self.set_queue(queue)

    def start(self) -> None:
        self._started = True
        for job in self.jobs.active.values():
            self._push(job)
        for name in self.queues:
            self._spawn(name)

    def set_queue(self, queue: QueueConfig) -> None:
        """Serve this queue, or go on serving it with these settings (members, order)."""
        new = queue.name not in self.queues
        self.queues[queue.name] = queue
        if not new:
            self._wake_up(queue.name)  # its members may have changed: choose again
            return
        self._wake[queue.name] = asyncio.Event()
        self._runnable[queue.name] = []
        if self._started:
            for job in self.jobs.active.values():
                if job.queue == queue.name:
                    self._push(job)
            self._spawn(queue.name)

    def remove_queue(self, name: str) -> None:
        """Stop serving the queue (its unfinished jobs were canceled first)."""
        self.queues.pop(name, None)
        self._wake.pop(name, None)
        self._runnable.pop(name, None)
        loop = self._loops.pop(name, None)
        if loop is not None:
            loop.cancel()

    def _spawn(self, name: str) -> None:
        self._loops[name] = self.tasks.spawn(self._queue_loop(name), name=f"queue-{name}")

    def busy(self, queue: str) -> bool:
        """Is a job of this queue being forwarded right now?"""
        return queue in self._current

    def canceling(self, job_id: int) -> bool:
        """Is a cancel of this job under way (the job being withdrawn from its printer)?"""
        return job_id in self._canceling

    def submit(self, job: Job) -> None:
        """The job may have become runnable (new, released, its document complete)."""
        self._push(job)
        self._wake_up(job.queue)

    def _push(self, job: Job) -> None:
        if job.state in RUNNABLE and job.queue in self._runnable:
            heapq.heappush(self._runnable[job.queue], (job.state == JobState.PENDING, job.id))

    def resume_queue(self, queue: str) -> None:
        """The queue's operator lifted its pause: look at its jobs again."""
        self._wake_up(queue)

    def promote(self, job: Job) -> None:
        """Take this job of the queue before the others waiting (Promote-Job)."""
        if job.state in RUNNABLE and job.queue in self._runnable:
            heapq.heappush(self._runnable[job.queue], (False, job.id))
            self._wake_up(job.queue)

    def _wake_up(self, queue: str) -> None:
        if queue in self._wake:
            self._wake[queue].set()

    async def cancel(self, job: Job, reason: str, message: str) -> None:
        """Stop forwarding the job if it is under way, cancel it at the printer, record it.

        At every moment of a forward: a Create-Job in flight is let finish and the job it made
        canceled at the printer, a document going out is cut after the printer was told, a job
        the printer has (printing, or waiting for a printer) is canceled there by its id. Until
        the cancel is recorded the queue's loop does not start the job again."""
        self._canceling.add(job.id)
        try:
            current = self._current.get(job.queue)
            if current is not None and current[0] == job.id:
                current[1].cancel()
                await asyncio.wait({current[1]})
            if job.upstream_job_id and job.printer in self.printers and not job.is_terminal:
                with contextlib.suppress(PrinterUnreachable, PrinterRefused):
                    await self.printers[job.printer].backend.cancel(job.upstream_job_id)
            if not job.is_terminal:
                await self.jobs.apply(job, Canceled(reason, message))
        finally:
            self._canceling.discard(job.id)
            if not job.is_terminal:
                self._push(job)  # the cancel failed: the job goes on where it was
        self._ended(job)

    # --- the loop ---------------------------------------------------------------------------

    def _next_job(self, queue: str) -> Job | None:
        """The oldest runnable job; jobs already under way (resumed after a restart) first."""
        heap = self._runnable[queue]
        while heap:
            job = self.jobs.active.get(heap[0][1])
            if job is not None and job.state in RUNNABLE and job.id not in self._canceling:
                return job
            heapq.heappop(heap)
        return None

    async def _queue_loop(self, name: str) -> None:
        wake = self._wake[name]
        while name in self.queues:
            wake.clear()
            job = None if self.held_back(name) else self._next_job(name)
            if job is None:
                await wake.wait()
                continue
            try:
                delay = await self._attempt(self.queues[name], job)
            except Exception:
                # A failure nobody foresaw must not stop the queue: the job stays where the
                # store says it is and is tried again.
                log.exception("queue %s: job %d could not be dispatched", name, job.id)
                delay = self.policy.max_delay / 4
            if delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), delay)

    async def _attempt(self, queue: QueueConfig, job: Job) -> float:
        """Try the job once; the seconds to wait before the next try (0: go on at once)."""
        retry = self._retry.setdefault(job.id, _Retry())
        choice = failover.choose(self._candidates(queue, job), frozenset(retry.rejected_by))
        if choice is None:
            return await self._stalled(queue, job, retry)
        printer = self.printers[choice.name]
        if not printer.up and not await refresh(printer, self._backoff(retry)):
            return 0.0  # marked down: the next round chooses another member or stalls
        async with printer.busy:
            if job.is_terminal or job.id not in self.jobs.active or job.id in self._canceling:
                return 0.0  # canceled while waiting for the printer
            failure = await self._forward(job, printer)
        if failure is None:
            if job.is_terminal:
                self._ended(job)
            return 0.0
        return await self._failed(queue, job, printer, retry, failure)

    async def _forward(self, job: Job, printer: Printer) -> ForwardFailure | None:
        path = self.spool.root / job.document_path
        await self.spool.ensure(path)
        task = self.tasks.spawn(self.forwarder.run(job, printer, path), name=f"job-{job.id}")
        self._current[job.queue] = (job.id, task)
        try:
            await asyncio.wait({task})
        finally:
            self._current.pop(job.queue, None)
        if task.cancelled():
            return None
        return task.result()

    def _candidates(self, queue: QueueConfig, job: Job) -> list[Candidate]:
        members = tuple(name for name in queue.printers if name in self.printers)
        if (
            job.forward_phase in (ForwardPhase.SENDING, ForwardPhase.SENT)
            and job.printer in self.printers
        ):
            members = (job.printer,)  # that printer may have it: it alone can say
        return [
            Candidate(
                name,
                self.printers[name].available(),
                self.printers[name].supports_format(job.document_format),
            )
            for name in members
        ]

    async def _failed(
        self,
        queue: QueueConfig,
        job: Job,
        printer: Printer,
        retry: _Retry,
        failure: ForwardFailure,
    ) -> float:
        retry.failures += 1
        retry.first_failure = retry.first_failure or time.monotonic()
        if failure.kind is Failure.REJECTED:
            retry.rejected_by.add(printer.name)
        else:
            printer.mark_down(failure.detail, self._backoff(retry))
        decision = failover.after_failure(
            failure.kind,
            self._candidates(queue, job),
            frozenset(retry.rejected_by),
            retry.first_failure,
            time.monotonic(),
            self.policy,
        )
        if decision is Next.ABORT:
            await self._abort(job, failure.detail)
            return 0.0
        await self._stop(job, f"{failure.detail}; will retry")
        return 0.0 if failure.kind is Failure.REJECTED else min(1.0, self._backoff(retry))

    async def _stalled(self, queue: QueueConfig, job: Job, retry: _Retry) -> float:
        now = time.monotonic()
        retry.first_failure = retry.first_failure or now
        if self.policy.expired(retry.first_failure, now):
            await self._abort(job, "no printer of the queue could print it in time")
            return 0.0
        members = [self.printers[n] for n in queue.printers if n in self.printers]
        errors = "; ".join(f"{p.name}: {p.last_error or 'unavailable'}" for p in members)
        await self._stop(job, f"Waiting for a printer ({errors})")
        waits = [p.retry_at - now for p in members]
        return max(0.05, min(waits, default=1.0))

    async def _stop(self, job: Job, message: str) -> None:
        if job.state != JobState.PROCESSING_STOPPED or job.message != message:
            await self.jobs.apply(job, PrinterStopped(message))

    async def _abort(self, job: Job, detail: str) -> None:
        await self.jobs.apply(job, Aborted(f"Not printed: {detail}"), failure_reason=detail)
        self._ended(job)

    def _ended(self, job: Job) -> None:
        self._retry.pop(job.id, None)
        self._wake_up(job.queue)

    def _backoff(self, retry: _Retry) -> float:
        return failover.printer_backoff(max(1, retry.failures), self.policy)

"""The live jobs view's feed: an addon that hears every job's changes (gateway/hooks.py) and
fans them out to any number of listeners (the console's event streams) without a database
read per listener.

Changes are gathered for `FLUSH_DELAY` seconds and sent as one batch, the latest state of each
job winning, serialised once for every listener: at 200 jobs a second and 50 open pages this is
a few writes a second per page, not a thousand. Each listener has a bounded queue; one that
falls `QUEUE_BATCHES` batches behind is dropped (its stream ends; the browser reconnects and
reloads the view) instead of being buffered for ever.

The feed also keeps the last state changes of recent jobs in memory, with their time and
message, for the job's page (`history`)."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..hooks import Hooks
from ..ipp.enums import JobState
from ..jobs.events import JobAccepted, JobMeasured, JobStateChanged
from ..jobs.record import Job
from ..store.store import now

FLUSH_DELAY = 0.25  # seconds: the longest a change waits before it is sent
QUEUE_BATCHES = 64  # a listener this many batches behind is dropped
HISTORY_JOBS = 10_000  # recent jobs whose state changes are kept in memory
HISTORY_PER_JOB = 50

# The view's state groups: what a person asks for, in IPP's states.
STATE_GROUPS: dict[str, tuple[JobState, ...]] = {
    "held": (JobState.PENDING_HELD,),
    "waiting": (JobState.PENDING,),
    "printing": (JobState.PROCESSING, JobState.PROCESSING_STOPPED),
    "done": (JobState.COMPLETED,),
    "failed": (JobState.ABORTED,),
    "canceled": (JobState.CANCELED,),
}
GROUP_OF = {state: group for group, states in STATE_GROUPS.items() for state in states}


def summary(job: Job) -> dict[str, Any]:
    """A job as a row of the live view shows it (the page renders the same fields)."""
    return {
        "id": job.id,
        "queue": job.queue,
        "user": job.user,
        "project": job.project,
        "department": job.department,
        "name": job.name,
        "state": GROUP_OF[job.state],
        "message": job.message,
        "printer": job.printer,
        "created": job.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        "pages": job.measured_pages,
    }


@dataclass(frozen=True)
class StateChange:
    """One step of a job's way, as the job page lists it."""

    at: datetime
    state: JobState
    reasons: tuple[str, ...]
    message: str


class Listener:
    """One open event stream: batches of changes (JSON text) to send, None when dropped."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_BATCHES + 1)

    async def next_batch(self, wait: float) -> str | bool | None:
        """The next batch; None once dropped; False when nothing came within `wait` seconds."""
        try:
            return await asyncio.wait_for(self.queue.get(), wait)
        except TimeoutError:
            return False


@dataclass
class JobFeed:
    listeners: set[Listener] = field(default_factory=set)
    dropped: int = 0  # listeners dropped for falling behind, since start
    _pending: dict[int, dict[str, Any]] = field(default_factory=dict)
    _flush: asyncio.TimerHandle | None = None
    _history: OrderedDict[int, list[StateChange]] = field(default_factory=OrderedDict)

    # --- hooks -------------------------------------------------------------------------------

    def job_accepted(self, event: JobAccepted) -> None:
        self._remember(event.job)
        self._changed(event.job)

    def job_state_changed(self, event: JobStateChanged) -> None:
        self._remember(event.job)
        self._changed(event.job)

    def job_measured(self, event: JobMeasured) -> None:
        self._changed(event.job)  # its page count arrives

    # --- listeners ---------------------------------------------------------------------------

    def listen(self) -> Listener:
        listener = Listener()
        self.listeners.add(listener)
        return listener

    def leave(self, listener: Listener) -> None:
        self.listeners.discard(listener)

    def history(self, job_id: int) -> list[StateChange]:
        return list(self._history.get(job_id, ()))

    # --- inside ------------------------------------------------------------------------------

    def _remember(self, job: Job) -> None:
        changes = self._history.pop(job.id, [])
        if not changes or changes[-1].state != job.state or changes[-1].message != job.message:
            changes.append(StateChange(now(), job.state, job.reasons, job.message))
        self._history[job.id] = changes[-HISTORY_PER_JOB:]
        while len(self._history) > HISTORY_JOBS:
            self._history.popitem(last=False)

    def _changed(self, job: Job) -> None:
        if not self.listeners:
            return  # nobody watches: nothing is gathered
        self._pending[job.id] = summary(job)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(FLUSH_DELAY, self._send)

    def _send(self) -> None:
        self._flush = None
        batch, self._pending = self._pending, {}
        if not batch:
            return
        text = json.dumps(list(batch.values()), separators=(",", ":"))
        for listener in list(self.listeners):
            if listener.queue.qsize() >= QUEUE_BATCHES:
                self.drop(listener)
            else:
                listener.queue.put_nowait(text)

    def drop(self, listener: Listener) -> None:
        """End this listener's stream: it hears nothing more and its last batch is None."""
        self.listeners.discard(listener)
        self.dropped += 1
        while not listener.queue.empty():
            listener.queue.get_nowait()
        listener.queue.put_nowait(None)


_FEEDS: weakref.WeakKeyDictionary[Hooks, JobFeed] = weakref.WeakKeyDictionary()


def joined(hooks: Hooks) -> JobFeed:
    """The feed listening to these hooks: made and added to them on the first call, so that a
    web UI set up twice on one gateway (tests walk its routes) shares one."""
    feed = _FEEDS.get(hooks)
    if feed is None:
        feed = _FEEDS[hooks] = JobFeed()
        hooks.add(feed)
    return feed

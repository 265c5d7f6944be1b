"""The notifier: an addon (gateway/hooks.py) that turns what happens to jobs and queues into
the events of the subscriptions that want them (server/subscriptions.py), and wakes the
Get-Notifications requests that wait for them.

Job events: job-created, job-state-changed, job-stopped, job-completed (from the job manager),
job-config-changed (Set-Job-Attributes). Printer events, per queue: printer-state-changed and
printer-stopped when the queue's state, reasons or message change (its members came up or went
down, or it began or ended printing), printer-config-changed when a member's capabilities
changed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from ..ipp import Attribute, JobState, PrinterState
from ..ipp import model as m
from ..jobs.events import JobAccepted, JobStateChanged
from ..jobs.record import Job
from ..printers.events import PrinterChanged
from .queue_attrs import QueueView
from .subscriptions import Subscription, SubscriptionTable

State = tuple[PrinterState, list[str], str]


def _now() -> int:
    return int(time.time())


class Notifier:
    def __init__(
        self,
        queues: Callable[[], Mapping[str, QueueView]] = dict,
        clock: Callable[[], int] = _now,
    ):
        self.table = SubscriptionTable()
        self.queues = queues
        self.clock = clock
        self._changed = asyncio.Event()
        self._queue_states: dict[str, State] = {}
        self._printer_versions: dict[str, int] = {}

    # --- hooks of the job manager and the printers ----------------------------------------

    def job_accepted(self, event: JobAccepted) -> None:
        self.job_event(event.job, "job-created", f"Job {event.job.id} created.")
        self._queue_may_have_changed(event.job.queue)

    def job_state_changed(self, event: JobStateChanged) -> None:
        job = event.job
        if job.state == event.previous:
            return
        if job.is_terminal:
            name, text = "job-completed", f"Job {job.id} {_state_name(job.state)}."
        elif job.state == JobState.PROCESSING_STOPPED:
            name, text = "job-stopped", f"Job {job.id} stopped: {job.message}"
        else:
            name, text = "job-state-changed", f"Job {job.id} {_state_name(job.state)}."
        self.job_event(job, name, text)
        if job.is_terminal:
            self.table.job_ended(job.id, self.clock())
        self._queue_may_have_changed(job.queue)

    def printer_changed(self, event: PrinterChanged) -> None:
        previous = self._printer_versions.get(event.printer)
        self._printer_versions[event.printer] = event.attributes_version
        for view in self.queues().values():
            if all(p.name != event.printer for p in view.printers):
                continue
            if previous is not None and previous != event.attributes_version:
                self.printer_event(view, "printer-config-changed", "Printer capabilities changed.")
            self._queue_may_have_changed(view.name)

    # --- publishing ---------------------------------------------------------------------

    def job_event(self, job: Job, name: str, text: str) -> None:
        listeners = self.table.listeners(job.queue, job.id, name)
        if not listeners:
            return
        for subscription in listeners:
            self.job_event_for(subscription, job, name, text)

    def job_event_for(self, subscription: Subscription, job: Job, name: str, text: str) -> None:
        """One subscription's event of its job, as if it had heard it happen."""
        view = self.queues().get(job.queue)
        attributes = [*self._printer_attributes(view, subscription), *_job_attributes(job)]
        if subscription.owner == job.user:
            attributes.append(m.name_("job-name", job.name or f"job {job.id}"))  # owner's only
        self.table.record(subscription, name, text, attributes, self.clock())
        self._wake()

    def printer_event(self, view: QueueView, name: str, text: str) -> None:
        listeners = self.table.listeners(view.name, None, name)
        now = self.clock()
        for subscription in listeners:
            if subscription.is_job:
                continue  # job subscriptions hear only their job (RFC 3995 5.3.3.1)
            attributes = self._printer_attributes(view, subscription)
            self.table.record(subscription, name, text, attributes, now)
        if listeners:
            self._wake()

    def _queue_may_have_changed(self, queue: str) -> None:
        view = self.queues().get(queue)
        if view is None:
            return
        state = view.state()
        before = self._queue_states.get(queue)
        self._queue_states[queue] = state
        if before is None or before == state:
            return
        text = state[2] or f"Printer {_state_name(state[0])}."
        self.printer_event(view, "printer-state-changed", text)
        if state[0] == PrinterState.STOPPED and before[0] != PrinterState.STOPPED:
            self.printer_event(view, "printer-stopped", text)

    def watch(self, view: QueueView) -> None:
        """Remember a queue's state now, so its next change is an event."""
        self._queue_states.setdefault(view.name, view.state())

    @staticmethod
    def _printer_attributes(view: QueueView | None, subscription: Subscription) -> list[Attribute]:
        attributes = [m.uri("notify-printer-uri", subscription.printer_uri)]
        if view is None:
            return attributes
        state, reasons, _ = view.state()
        return [
            *attributes,
            m.name_("printer-name", view.name),
            m.enum("printer-state", state),
            m.keyword("printer-state-reasons", *reasons),
            m.boolean("printer-is-accepting-jobs", view.admin.accepting),
        ]

    # --- waiting ------------------------------------------------------------------------

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait(self, seconds: float) -> None:
        """Until the next event of any subscription, at most `seconds`."""
        try:
            await asyncio.wait_for(self._changed.wait(), seconds)
        except TimeoutError:
            pass


def _job_attributes(job: Job) -> list[Attribute]:
    return [
        m.integer("notify-job-id", job.id),
        m.enum("job-state", job.state),
        m.keyword("job-state-reasons", *(job.reasons or ("none",))),
        m.integer("job-impressions-completed", job.impressions or 0),
    ]


def _state_name(state: JobState | PrinterState) -> str:
    return state.name.lower().replace("_", "-")

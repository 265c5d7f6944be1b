"""The operator's operations on a queue (RFC 8011, RFC 3380, RFC 3998, PWG 5100.11): pause and
resume it, stop and start taking jobs, hold new jobs and release them, cancel its jobs, set its
message. They act on printgate's queue, never on the member printers, which other queues share.

Only an administrator may use them: console administrators, authenticated with HTTP Basic (as
for the other jobs' operations, privacy.py). A request without credentials is answered with an
HTTP 401 so that a client holding them can send them; credentials of anyone else are refused
with client-error-forbidden.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from ...ipp import Attribute, JobState, Op, Status, Tag
from ...ipp import model as m
from ...jobs.state import ACTIVE_STATES, HELD, INCOMING, Queued
from ...printers.state import refresh
from ...store.audit import Actor, record
from ..queue_attrs import OPERATOR_SET, QueueView
from .core import AuthenticationRequired, Core, IppError, IppRequest, Reply, _op_attr
from .privacy import Requester, requester

# RFC 3995 5.3.4 (printer-message-from-operator is text(127)).
MESSAGE_LIMIT = 127


class Admin(Core):
    async def _operator(self, request: IppRequest, queue: QueueView) -> Requester:
        asker = await requester(self.gw, request, queue)
        if asker.admin:
            return asker
        if request.http_user:
            raise IppError(Status.FORBIDDEN, "only an administrator may do this")
        raise AuthenticationRequired(
            f"printgate {queue.name}", "an administrator's user name and password are required"
        )

    async def _set(self, request: IppRequest, queue: QueueView, **changes: object) -> Reply:
        asker = await self._operator(request, queue)
        state = self.admin.of(queue.name)
        before = queue.state()
        was_paused = state.paused
        earlier = {name: getattr(state, name) for name in changes}
        for name, value in changes.items():
            setattr(state, name, value)
        await self.admin.changed(queue.name)
        await self._audit(asker, queue, request, earlier, changes)
        if was_paused and not state.paused:
            self.gw.dispatcher.resume_queue(queue.name)
        self._tell(queue, before)
        return self.response(request, Status.OK)

    async def _audit(
        self,
        asker: Requester,
        queue: QueueView,
        request: IppRequest,
        before: Mapping[str, object],
        after: Mapping[str, object],
    ) -> None:
        """Into the audit log, beside the console's and the CLI's changes."""
        action = f"ipp.{Op(request.message.code).name.lower().replace('_', '-')}"

        def write(session: Session) -> None:
            record(session, Actor(asker.name, "ipp"), action, queue.name, before, after)

        await self.gw.jobs.store.write(write)

    def _tell(self, queue: QueueView, before: tuple[object, ...]) -> None:
        """printer-state-changed (and printer-stopped) for those who subscribed."""
        notifier = self.gw.notifier
        after = queue.state()
        if notifier is None or after == before:
            return
        text = after[2] or ", ".join(after[1])
        notifier.printer_event(queue, "printer-state-changed", text)
        if after[0] != before[0] and after[1][:1] == ["paused"]:
            notifier.printer_event(queue, "printer-stopped", text)

    async def pause_printer(self, request: IppRequest, queue: QueueView) -> Reply:
        # printgate never stops a job its printer is printing: both pauses let it finish.
        return await self._set(request, queue, paused=True)

    async def resume_printer(self, request: IppRequest, queue: QueueView) -> Reply:
        return await self._set(request, queue, paused=False)

    async def enable_printer(self, request: IppRequest, queue: QueueView) -> Reply:
        return await self._set(request, queue, accepting=True)

    async def disable_printer(self, request: IppRequest, queue: QueueView) -> Reply:
        return await self._set(request, queue, accepting=False)

    async def shutdown_printer(self, request: IppRequest, queue: QueueView) -> Reply:
        return await self._set(request, queue, paused=True, accepting=False)

    async def startup_printer(self, request: IppRequest, queue: QueueView) -> Reply:
        return await self._set(request, queue, paused=False, accepting=True)

    async def restart_printer(self, request: IppRequest, queue: QueueView) -> Reply:
        """Start afresh: taking and printing jobs, its members' attributes fetched again."""
        await self._operator(request, queue)
        for printer in queue.printers:
            await refresh(printer, retry_in=1.0)
        return await self._set(request, queue, paused=False, accepting=True)

    async def hold_new_jobs(self, request: IppRequest, queue: QueueView) -> Reply:
        return await self._set(request, queue, hold_new_jobs=True)

    async def release_held_new_jobs(self, request: IppRequest, queue: QueueView) -> Reply:
        await self._operator(request, queue)
        state = self.admin.of(queue.name)
        for job_id in list(state.held_jobs):
            job = await self.gw.jobs.get(job_id)
            if job is not None and INCOMING in job.reasons:  # it prints once complete
                await self.gw.jobs.update(job, hold_until="no-hold")
            elif job is not None and job.state == JobState.PENDING_HELD and HELD in job.reasons:
                await self.gw.jobs.apply(job, Queued(), hold_until="no-hold")
                self.gw.dispatcher.submit(job)
        return await self._set(request, queue, hold_new_jobs=False, held_jobs=[])

    async def purge_jobs(self, request: IppRequest, queue: QueueView) -> Reply:
        """Cancel every unfinished job. Finished ones stay: they are the accounting record."""
        asker = await self._operator(request, queue)
        for job in await self.gw.jobs.list(queue.name, ACTIVE_STATES):
            await self.gw.dispatcher.cancel(
                job, "job-canceled-by-operator", f"Purged by {asker.name}"
            )
        return self.response(request, Status.OK)

    async def cancel_jobs(self, request: IppRequest, queue: QueueView) -> Reply:
        """Cancel the jobs named by job-ids, else every unfinished job of the queue."""
        asker = await self._operator(request, queue)
        ids_attr = _op_attr(request, "job-ids")
        jobs = await self.gw.jobs.list(queue.name, ACTIVE_STATES)
        if ids_attr is not None:
            wanted = [v for v in ids_attr.python_values() if isinstance(v, int)]
            if ids_attr.tag != Tag.INTEGER or not wanted:
                raise IppError(Status.BAD_REQUEST, "job-ids must be integers", [ids_attr])
            active = {job.id: job for job in jobs}
            missing = [job_id for job_id in wanted if job_id not in active]
            if missing:
                # RFC 3998/PWG 5100.11: none is canceled when one cannot be.
                raise IppError(
                    Status.NOT_POSSIBLE,
                    f"job {missing[0]} is not an unfinished job of this queue",
                    [m.integer("job-ids", *missing)],
                )
            jobs = [active[job_id] for job_id in wanted]
        for job in jobs:
            await self.gw.dispatcher.cancel(
                job, "job-canceled-by-operator", f"Canceled by {asker.name}"
            )
        return self.response(request, Status.OK)

    async def cancel_current_job(self, request: IppRequest, queue: QueueView) -> Reply:
        asker = await self._operator(request, queue)
        current = await self.gw.jobs.list(
            queue.name, (JobState.PROCESSING, JobState.PROCESSING_STOPPED)
        )
        wanted = _op_attr(request, "job-id")
        if wanted is not None:
            current = [j for j in current if j.id == wanted.integer()]
        if not current:
            raise IppError(Status.NOT_POSSIBLE, "no job of this queue is printing")
        await self.gw.dispatcher.cancel(
            current[0], "job-canceled-by-operator", f"Canceled by {asker.name}"
        )
        return self.response(request, Status.OK)

    async def set_printer_attributes(self, request: IppRequest, queue: QueueView) -> Reply:
        asker = await self._operator(request, queue)
        group = request.message.group(Tag.PRINTER)
        if group is None or not group.attributes:
            raise IppError(Status.BAD_REQUEST, "no printer attributes to set")
        not_settable = [a for a in group if a.name not in OPERATOR_SET]
        if not_settable:
            raise IppError(
                Status.ATTRIBUTES_NOT_SETTABLE,
                f"{not_settable[0].name} is not settable",
                [m.attr(a.name, Tag.NOT_SETTABLE, None) for a in not_settable],
            )
        message = group.get("printer-message-from-operator")
        if message is not None:
            text = _message(message)
            state = self.admin.of(queue.name)
            before = {"printer-message-from-operator": state.message}
            state.message = text
            await self.admin.changed(queue.name)
            after = {"printer-message-from-operator": text}
            await self._audit(asker, queue, request, before, after)
            if self.gw.notifier is not None:
                self.gw.notifier.printer_event(queue, "printer-config-changed", text)
        return self.response(request, Status.OK)

    async def get_printer_supported_values(self, request: IppRequest, queue: QueueView) -> Reply:
        """The values Set-Printer-Attributes takes (RFC 3380 4.3): for a text attribute, its
        longest length in octets."""
        await self._operator(request, queue)
        values = [m.integer("printer-message-from-operator", MESSAGE_LIMIT)]
        requested = _op_attr(request, "requested-attributes")
        names = set(requested.strings()) if requested is not None else {"all"}
        if not names & {"all", "printer-description"}:
            values = [a for a in values if a.name in names]
        return self.response(request, Status.OK, m.group(Tag.PRINTER, values))


def _message(attribute: Attribute) -> str:
    if attribute.tag not in (Tag.TEXT, Tag.TEXT_WITH_LANGUAGE) or len(attribute.values) != 1:
        raise IppError(
            Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
            "printer-message-from-operator must be one text value",
            [attribute],
        )
    text = attribute.text() or ""
    if len(text.encode("utf-8")) > MESSAGE_LIMIT:
        raise IppError(
            Status.REQUEST_VALUE_TOO_LONG,
            f"printer-message-from-operator is longer than {MESSAGE_LIMIT} octets",
            [attribute],
        )
    return text

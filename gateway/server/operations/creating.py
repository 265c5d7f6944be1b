"""Operations that create jobs or give them their document: Print-Job, Validate-Job,
Create-Job, Send-Document, Close-Job. Every new job faces the credential gate first."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ...analysis.sniff import sniff_format
from ...identity.gate import AUTH_FAILED, Decision, Outcome
from ...identity.release import ACCOUNT_REASONS
from ...ipp import Attribute, Group, Op, Status, Tag
from ...ipp import model as m
from ...ipp.supported import encode_template, unsupported_part
from ...jobs.events import DocumentSpooled
from ...jobs.record import Job
from ...jobs.spool import CompressionError, DocumentTooLarge, SpooledDocument, SpoolError
from ...jobs.state import (
    INCOMING,
    Aborted,
    AwaitingDocument,
    Event,
    HeldForCredentials,
    ready,
)
from ..queue_attrs import COMPRESSIONS, HOLD_UNTIL, QueueView
from .core import (
    AuthenticationRequired,
    Core,
    IppError,
    IppRequest,
    Reply,
    _ok,
    _op_attr,
    _op_bool,
    _op_text,
    not_supported,
    presented,
    requesting_user,
)

# Template attributes printgate itself understands, whatever the printer lists.
OWN_TEMPLATE = {"job-account-id", "job-accounting-user-id", "job-hold-until"}


@dataclass(frozen=True)
class _JobRequest:
    """A validated job-creating request."""

    template: list[Attribute]
    unsupported: list[Attribute]
    name: str
    document_format: str
    compression: str
    hold_until: str
    held_for_queue: bool = False  # held because of Hold-New-Jobs


class Creating(Core):
    def _job_request(
        self, request: IppRequest, queue: QueueView, with_document: bool
    ) -> _JobRequest:
        if request.message.code != Op.SEND_DOCUMENT and not self.admin.of(queue.name).accepting:
            raise IppError(Status.NOT_ACCEPTING_JOBS, f"{queue.name} is not accepting jobs")
        fidelity = _op_bool(request, "ipp-attribute-fidelity", False)
        static = queue.static_group()
        unsupported: list[Attribute] = []
        document_format = _op_text(request, "document-format") or "application/octet-stream"
        if document_format not in queue.document_formats():
            raise not_supported(
                Status.DOCUMENT_FORMAT_NOT_SUPPORTED, m.mime("document-format", document_format)
            )
        compression = _op_text(request, "compression") or "none"
        if compression not in COMPRESSIONS:
            raise not_supported(
                Status.COMPRESSION_NOT_SUPPORTED, m.keyword("compression", compression)
            )
        job_group = request.message.group(Tag.JOB)
        template: list[Attribute] = []
        hold_until = "no-hold"
        for attribute in job_group or ():
            bad = self._unsupported_template(attribute, static)
            if bad is not None:
                unsupported.append(bad)
                continue
            if attribute.name == "job-hold-until":
                hold_until = attribute.text() or "no-hold"
            template.append(attribute)
        held_for_queue = hold_until == "no-hold" and self.admin.of(queue.name).hold_new_jobs
        if held_for_queue:
            hold_until = "indefinite"  # Hold-New-Jobs: Release-Held-New-Jobs lets them go
        for name in ("job-password", "job-account-id", "job-accounting-user-id"):
            op_value = _op_attr(request, name)
            if op_value is not None and all(a.name != name for a in template):
                template.append(op_value)
        if unsupported and fidelity:
            raise IppError(
                Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                "the printer does not support some attributes of the job",
                unsupported,
            )
        name = _op_text(request, "job-name") or _op_text(request, "document-name") or ""
        return _JobRequest(
            template,
            unsupported,
            name[:255],
            document_format,
            compression,
            hold_until,
            held_for_queue,
        )

    @staticmethod
    def _unsupported_template(attribute: Attribute, static: Group) -> Attribute | None:
        if attribute.name == "job-hold-until":
            ok = attribute.tag in (Tag.KEYWORD, Tag.NAME) and attribute.text() in HOLD_UNTIL
            return None if ok else attribute
        if attribute.name in OWN_TEMPLATE:
            return None
        return unsupported_part(attribute, static)

    async def _receive(self, request: IppRequest, compression: str) -> tuple[str, int, str | None]:
        """Spool the document; (file name in the spool, size, detected format)."""
        document = await self._spool(request, compression)
        return document.path.name, document.size, sniff_format(document.head)

    async def _spool(
        self, request: IppRequest, compression: str, defer: bool = False
    ) -> SpooledDocument:
        """Spool the document (with defer, durable only once its `settle` ran: Spool.receive)."""
        try:
            return await self.gw.spool.receive(request.document, compression, defer)
        except DocumentTooLarge as exc:
            raise IppError(Status.REQUEST_ENTITY_TOO_LARGE, str(exc)) from exc
        except CompressionError as exc:
            raise IppError(Status.COMPRESSION_ERROR, str(exc)) from exc
        except SpoolError as exc:
            raise IppError(Status.DOCUMENT_ACCESS_ERROR, str(exc)) from exc

    async def _admit(
        self, request: IppRequest, queue: QueueView, job_request: _JobRequest
    ) -> Decision:
        """The gate's word on a new job. A client that can answer gets a 401; a CUPS client
        gets CUPS' own account status (its backend then holds the job on the CUPS side);
        anyone else gets the job created and held, to be claimed on the release page."""
        decision = await self.gw.gate.decide(
            queue.queue, presented(request, job_request.template), queue.graceful
        )
        if decision.outcome is Outcome.CHALLENGE:
            raise AuthenticationRequired(f"printgate {queue.name}", decision.message)
        if decision.outcome is Outcome.HOLD and request.user_agent.startswith("CUPS/"):
            status = (
                Status.CUPS_ACCOUNT_AUTHORIZATION_FAILED
                if decision.reason == AUTH_FAILED
                else Status.CUPS_ACCOUNT_INFO_NEEDED
            )
            raise IppError(status, decision.message)
        return decision

    async def _new_job(
        self,
        request: IppRequest,
        queue: QueueView,
        job_request: _JobRequest,
        decision: Decision,
        event: Event,
        settle_document: Callable[[], None] | None = None,
        **values: object,
    ) -> Job:
        template = job_request.template
        media = next((a for a in template if a.name == "media"), None)
        job = await self.gw.jobs.create(
            event,
            settle_document,
            uuid=f"urn:uuid:{uuid.uuid4()}",
            queue=queue.name,
            name=job_request.name,
            user=decision.user or requesting_user(request),
            project=decision.project,
            department=decision.department,
            origin_host=request.peer,
            template=encode_template(template),
            hold_until=job_request.hold_until,
            copies=_template_int(template, "copies", 1),
            sides=_template_text(template, "sides"),
            color_mode=_template_text(template, "print-color-mode"),
            media=media.text() or "" if media else "",
            **values,
        )
        if job_request.held_for_queue:
            self.admin.of(queue.name).held_jobs.append(job.id)
            await self.admin.save()
        return job

    @staticmethod
    def _initial_state(hold_until: str, decision: Decision) -> Event:
        if decision.outcome is Outcome.HOLD:
            return HeldForCredentials(decision.reason, decision.message)
        return ready(hold_until)

    async def print_job(self, request: IppRequest, queue: QueueView) -> Reply:
        job_request = self._job_request(request, queue, with_document=True)
        decision = await self._admit(request, queue, job_request)
        # Deferred: made durable with the documents of the jobs arriving at the same time (one
        # append, one sync), just before its job's row commits.
        document = await self._spool(request, job_request.compression, defer=True)
        spooled, size, detected = document.path.name, document.size, sniff_format(document.head)
        if size == 0:
            await self.gw.spool.remove(self.gw.spool.root / spooled)
            raise IppError(Status.BAD_REQUEST, "Print-Job without document data")
        try:
            job = await self._new_job(
                request,
                queue,
                job_request,
                decision,
                self._initial_state(job_request.hold_until, decision),
                settle_document=document.settle,
                document_path=spooled,
                document_bytes=size,
                document_format=_resolved_format(job_request.document_format, detected),
                document_name=_op_text(request, "document-name") or "",
            )
        except BaseException:
            await self.gw.spool.remove(self.gw.spool.root / spooled)
            raise
        await self.gw.jobs.hooks.emit(DocumentSpooled(job))
        self.gw.dispatcher.submit(job)
        return self._job_reply(request, job, _ok(job_request.unsupported), job_request.unsupported)

    async def validate_job(self, request: IppRequest, queue: QueueView) -> Reply:
        job_request = self._job_request(request, queue, with_document=False)
        return self.response(
            request, _ok(job_request.unsupported), unsupported=job_request.unsupported
        )

    async def create_job(self, request: IppRequest, queue: QueueView) -> Reply:
        job_request = self._job_request(request, queue, with_document=False)
        decision = await self._admit(request, queue, job_request)
        held = decision.outcome is Outcome.HOLD
        job = await self._new_job(
            request,
            queue,
            job_request,
            decision,
            AwaitingDocument(decision.reason, decision.message) if held else AwaitingDocument(),
        )
        return self._job_reply(request, job, _ok(job_request.unsupported), job_request.unsupported)

    async def close_job(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        self._check_owner(request, job)
        if INCOMING not in job.reasons:
            raise IppError(Status.NOT_POSSIBLE, "the job is already closed")
        await self._close(job)
        return self._job_reply(request, job, Status.OK, [])

    async def _close(self, job: Job) -> None:
        if not job.document_path:
            await self.gw.jobs.apply(
                job,
                Aborted("The job was closed without a document"),
                failure_reason="no document",
            )
            return
        account_hold = [r for r in job.reasons if r in ACCOUNT_REASONS]
        await self.gw.jobs.hooks.emit(DocumentSpooled(job))
        if account_hold:  # the gate held it at Create-Job: it stays held, now complete
            await self.gw.jobs.apply(job, HeldForCredentials(account_hold[0], job.message))
            return
        await self.gw.jobs.apply(job, ready(job.hold_until))
        self.gw.dispatcher.submit(job)


def _resolved_format(declared: str, detected: str | None) -> str:
    if declared == "application/octet-stream" and detected:
        return detected
    return declared


def _template_int(template: list[Attribute], name: str, default: int) -> int:
    for attribute in template:
        if attribute.name == name:
            value = attribute.integer()
            return value if value is not None else default
    return default


def _template_text(template: list[Attribute], name: str) -> str:
    for attribute in template:
        if attribute.name == name:
            return attribute.text() or ""
    return ""

"""IPP operations: one shared validation step for every request, then one coroutine per
operation from a table. Knows nothing of HTTP: the server hands over a decoded request and the
document stream, and gets back a response (a Message, or pre-encoded bytes on the hot path)."""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .dispatcher import Dispatcher
from .gate import AUTH_FAILED, Decision, Gate, Outcome, Presented
from .ipp import Attribute, Group, JobState, Message, Op, Status, Tag
from .ipp import model as m
from .ipp.codec import encode_group, encode_header
from .job_attrs import GET_JOBS_DEFAULT, job_attributes
from .jobs import ACTIVE_STATES, TERMINAL_STATES, Job, JobManager
from .printer_attrs import COMPRESSIONS, HOLD_UNTIL, WHICH_JOBS, Origin, QueueView
from .release import ACCOUNT_REASONS, ReleaseDesk, held_for_credentials
from .spool import CompressionError, DocumentTooLarge, Spool, SpoolError, sniff_format
from .supported import decode_template, encode_template, unsupported_part
from .tasks import TaskKeeper

log = logging.getLogger(__name__)

SUPPORTED_VERSIONS = {(1, 0), (1, 1), (2, 0), (2, 1), (2, 2)}
CHARSETS = {"utf-8", "us-ascii"}
# Template attributes printgate itself understands, whatever the printer lists.
OWN_TEMPLATE = {"job-account-id", "job-accounting-user-id", "job-hold-until"}
WHICH_STATES: dict[str, tuple[JobState, ...]] = {
    "not-completed": ACTIVE_STATES,
    "completed": TERMINAL_STATES,
    "all": ACTIVE_STATES + TERMINAL_STATES,
    "aborted": (JobState.ABORTED,),
    "canceled": (JobState.CANCELED,),
    "pending": (JobState.PENDING,),
    "pending-held": (JobState.PENDING_HELD,),
    "processing": (JobState.PROCESSING,),
    "processing-stopped": (JobState.PROCESSING_STOPPED,),
}
INCOMING = "job-incoming"
SETTABLE = frozenset({"job-account-id", "job-accounting-user-id", "job-password", "job-name"})
# uri-authentication-supported for each auth mode
URI_AUTHENTICATION = {
    "none": "none",
    "username": "requesting-user-name",
    "list": "requesting-user-name",
    "password": "basic",
    "list-password": "basic",
    "directory": "basic",
}
GET_PRINTER_ATTRIBUTES_CODE = Op.GET_PRINTER_ATTRIBUTES.to_bytes(2, "big")
ANSWER_LIMIT = 256
# The operation group of a plain successful answer, encoded once for the hot path.
OK_OPERATION_GROUP = encode_group(
    m.group(
        Tag.OPERATION,
        [m.charset("attributes-charset", "utf-8"), m.language("attributes-natural-language", "en")],
    )
)
HELD = "job-hold-until-specified"


class IppError(Exception):
    def __init__(self, status: Status, message: str, unsupported: list[Attribute] | None = None):
        super().__init__(message)
        self.status = status
        self.unsupported = unsupported or []


class AuthenticationRequired(Exception):
    """The queue needs HTTP Basic credentials for this request (the server answers 401)."""

    def __init__(self, realm: str, message: str):
        super().__init__(message)
        self.realm = realm


@dataclass(frozen=True)
class IppRequest:
    message: Message
    queue: str  # from the URL path
    origin: Origin
    peer: str
    document: AsyncIterator[bytes]
    http_user: str | None = None
    http_password: str | None = None
    user_agent: str = ""
    raw: bytes = b""  # the request's attribute part as received, when the server has it whole


@dataclass
class Gateway:
    """What the operations act on; built by service.py."""

    queues: dict[str, QueueView]
    jobs: JobManager
    spool: Spool
    dispatcher: Dispatcher
    tasks: TaskKeeper
    gate: Gate
    desk: ReleaseDesk
    started: float = field(default_factory=time.time)


@dataclass(frozen=True)
class _JobRequest:
    """A validated job-creating request."""

    template: list[Attribute]
    unsupported: list[Attribute]
    name: str
    document_format: str
    compression: str
    hold_until: str


Reply = Message | bytes
Handler = Callable[["Operations", IppRequest, QueueView], Awaitable[Reply]]


def _op_attr(request: IppRequest, name: str) -> Attribute | None:
    return request.message.operation.get(name)


def _op_text(request: IppRequest, name: str) -> str | None:
    attribute = _op_attr(request, name)
    return attribute.text() if attribute else None


def _op_bool(request: IppRequest, name: str, default: bool) -> bool:
    attribute = _op_attr(request, name)
    if attribute is None:
        return default
    if attribute.tag != Tag.BOOLEAN:
        raise IppError(Status.BAD_REQUEST, f"{name} must be a boolean", [attribute])
    return attribute.value is True


def _requested(request: IppRequest) -> list[str] | None:
    attribute = _op_attr(request, "requested-attributes")
    if attribute is None:
        return None
    if attribute.tag != Tag.KEYWORD:
        raise IppError(Status.BAD_REQUEST, "requested-attributes must be keywords", [attribute])
    return attribute.strings()


def requesting_user(request: IppRequest) -> str:
    return request.http_user or _op_text(request, "requesting-user-name") or "anonymous"


class Operations:
    def __init__(self, gateway: Gateway):
        self.gw = gateway
        # Get-Printer-Attributes answers by (queue, origin, request bytes but the request-id):
        # clients poll with byte-identical requests, and the answer only changes when the
        # queue's freshness does.
        self._answers: dict[tuple[str, Origin, bytes], tuple[object, bytes]] = {}

    def replay(self, queue: str, origin: Origin, raw: bytes) -> bytes | None:
        """A stored answer to this exact Get-Printer-Attributes request, if still true."""
        if raw[2:4] != GET_PRINTER_ATTRIBUTES_CODE:
            return None
        answer = self._answers.get((queue, origin, _without_request_id(raw)))
        if answer is None or answer[0] != self.gw.queues[queue].freshness():
            return None
        return raw[:2] + b"\x00\x00" + raw[4:8] + answer[1]

    def _remember(self, request: IppRequest, queue: QueueView, reply: bytes) -> None:
        if not request.raw:
            return
        if len(self._answers) >= ANSWER_LIMIT:
            self._answers.clear()
        key = (queue.name, request.origin, _without_request_id(request.raw))
        self._answers[key] = (queue.freshness(), reply[8:])

    # --- entry point ----------------------------------------------------------------------

    async def handle(self, request: IppRequest) -> Reply:
        try:
            queue = self._validate(request)
            handler = HANDLERS.get(request.message.code)
            if handler is None:
                raise IppError(Status.OPERATION_NOT_SUPPORTED, "operation not supported")
            return await handler(self, request, queue)
        except IppError as exc:
            return self.response(request, exc.status, message=str(exc), unsupported=exc.unsupported)

    def _validate(self, request: IppRequest) -> QueueView:
        message = request.message
        if message.version not in SUPPORTED_VERSIONS:
            raise IppError(Status.VERSION_NOT_SUPPORTED, f"IPP {message.version} not supported")
        if message.request_id <= 0:
            raise IppError(Status.BAD_REQUEST, "request-id must be positive")
        if not message.groups or message.groups[0].tag != Tag.OPERATION:
            raise IppError(Status.BAD_REQUEST, "the operation attributes group must come first")
        if len(message.groups_of(Tag.OPERATION)) > 1:
            raise IppError(Status.BAD_REQUEST, "more than one operation attributes group")
        for group in message.groups:
            if len({a.name for a in group.attributes}) != len(group.attributes):
                raise IppError(Status.BAD_REQUEST, "an attribute appears twice in one group")
        attrs = message.groups[0].attributes
        if (
            len(attrs) < 2
            or attrs[0].name != "attributes-charset"
            or (attrs[1].name != "attributes-natural-language")
        ):
            raise IppError(
                Status.BAD_REQUEST,
                "attributes-charset and attributes-natural-language must come first",
            )
        if attrs[0].tag != Tag.CHARSET or attrs[1].tag != Tag.NATURAL_LANGUAGE:
            raise IppError(Status.BAD_REQUEST, "bad charset or natural-language syntax")
        if (attrs[0].text() or "").lower() not in CHARSETS:
            raise IppError(Status.CHARSET_NOT_SUPPORTED, "charset not supported", [attrs[0]])
        return self._target(request)

    def _target(self, request: IppRequest) -> QueueView:
        operation = request.message.operation
        target = operation.get("printer-uri") or operation.get("job-uri")
        if target is None:
            raise IppError(Status.BAD_REQUEST, "printer-uri or job-uri is missing")
        if target.tag != Tag.URI:
            raise IppError(Status.BAD_REQUEST, f"{target.name} must be a uri", [target])
        name = queue_name(target.text() or "")
        queue = self.gw.queues.get(name or "")
        if queue is None or name != request.queue:
            raise IppError(Status.NOT_FOUND, f"no queue at {target.text()}")
        return queue

    # --- responses ------------------------------------------------------------------------

    def response(
        self,
        request: IppRequest,
        status: int,
        *groups: Group,
        message: str = "",
        unsupported: list[Attribute] | None = None,
    ) -> Message:
        operation = [
            m.charset("attributes-charset", "utf-8"),
            m.language("attributes-natural-language", "en"),
        ]
        if message:
            operation.append(m.text("status-message", message[:255]))
        all_groups = [m.group(Tag.OPERATION, operation)]
        if unsupported:
            all_groups.append(m.group(Tag.UNSUPPORTED_GROUP, unsupported))
        all_groups.extend(groups)
        return Message(
            _reply_version(request.message), status, request.message.request_id, tuple(all_groups)
        )

    def _job_reply(
        self, request: IppRequest, job: Job, status: int, unsupported: list[Attribute]
    ) -> Message:
        attrs = job_attributes(
            job,
            request.origin,
            int(time.time()),
            [
                "job-id",
                "job-uri",
                "job-uuid",
                "job-state",
                "job-state-reasons",
                "job-state-message",
            ],
        )
        return self.response(request, status, m.group(Tag.JOB, attrs), unsupported=unsupported)

    # --- job creation ---------------------------------------------------------------------

    def _job_request(
        self, request: IppRequest, queue: QueueView, with_document: bool
    ) -> _JobRequest:
        fidelity = _op_bool(request, "ipp-attribute-fidelity", False)
        static = queue.static_group()
        unsupported: list[Attribute] = []
        document_format = _op_text(request, "document-format") or "application/octet-stream"
        if document_format not in queue.document_formats():
            raise IppError(
                Status.DOCUMENT_FORMAT_NOT_SUPPORTED,
                f"document-format {document_format} is not supported",
                [m.mime("document-format", document_format)],
            )
        compression = _op_text(request, "compression") or "none"
        if compression not in COMPRESSIONS:
            raise IppError(
                Status.COMPRESSION_NOT_SUPPORTED,
                f"compression {compression} is not supported",
                [m.keyword("compression", compression)],
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
            template, unsupported, name[:255], document_format, compression, hold_until
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
        try:
            document = await self.gw.spool.receive(request.document, compression)
        except DocumentTooLarge as exc:
            raise IppError(Status.REQUEST_ENTITY_TOO_LARGE, str(exc)) from exc
        except CompressionError as exc:
            raise IppError(Status.COMPRESSION_ERROR, str(exc)) from exc
        except SpoolError as exc:
            raise IppError(Status.DOCUMENT_ACCESS_ERROR, str(exc)) from exc
        return document.path.name, document.size, sniff_format(document.head)

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
        **values: object,
    ) -> Job:
        template = job_request.template
        media = next((a for a in template if a.name == "media"), None)
        return await self.gw.jobs.create(
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

    @staticmethod
    def _initial_state(
        hold_until: str, decision: Decision | None = None
    ) -> tuple[JobState, tuple[str, ...], str]:
        if decision is not None and decision.outcome is Outcome.HOLD:
            return JobState.PENDING_HELD, (decision.reason,), decision.message
        if hold_until != "no-hold":
            return JobState.PENDING_HELD, (HELD,), "Held until released"
        return JobState.PENDING, ("none",), "Waiting to print"

    async def print_job(self, request: IppRequest, queue: QueueView) -> Reply:
        job_request = self._job_request(request, queue, with_document=True)
        decision = await self._admit(request, queue, job_request)
        spooled, size, detected = await self._receive(request, job_request.compression)
        if size == 0:
            await self.gw.spool.remove(self.gw.spool.root / spooled)
            raise IppError(Status.BAD_REQUEST, "Print-Job without document data")
        state, reasons, text = self._initial_state(job_request.hold_until, decision)
        try:
            job = await self._new_job(
                request,
                queue,
                job_request,
                decision,
                state=state,
                reasons=reasons,
                message=text,
                document_path=spooled,
                document_bytes=size,
                document_format=_resolved_format(job_request.document_format, detected),
                document_name=_op_text(request, "document-name") or "",
            )
        except BaseException:
            await self.gw.spool.remove(self.gw.spool.root / spooled)
            raise
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
            state=JobState.PENDING_HELD,
            reasons=(INCOMING, decision.reason) if held else (INCOMING,),
            message=decision.message if held else "Waiting for the document",
        )
        return self._job_reply(request, job, _ok(job_request.unsupported), job_request.unsupported)

    async def send_document(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        self._check_owner(request, job)
        if INCOMING not in job.reasons:
            raise IppError(Status.NOT_POSSIBLE, "the job is not accepting documents")
        last = _op_attr(request, "last-document")
        if last is None or last.tag != Tag.BOOLEAN:
            raise IppError(Status.BAD_REQUEST, "last-document (boolean) is required")
        job_request = self._job_request(request, queue, with_document=True)
        spooled, size, detected = await self._receive(request, job_request.compression)
        if size and job.document_path:
            await self.gw.spool.remove(self.gw.spool.root / spooled)
            raise IppError(Status.MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED, "a job takes one document")
        if size:
            await self.gw.jobs.update(
                job,
                document_path=spooled,
                document_bytes=size,
                document_format=_resolved_format(job_request.document_format, detected),
                document_name=_op_text(request, "document-name") or "",
            )
        else:
            await self.gw.spool.remove(self.gw.spool.root / spooled)
        if last.value is True:
            await self._close(job)
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
            await self.gw.jobs.transition(
                job,
                JobState.ABORTED,
                ("job-aborted-by-system",),
                "The job was closed without a document",
                failure_reason="no document",
            )
            return
        account_hold = [r for r in job.reasons if r in ACCOUNT_REASONS]
        if account_hold:  # the gate held it at Create-Job: it stays held, now complete
            await self.gw.jobs.transition(job, JobState.PENDING_HELD, account_hold, job.message)
            return
        state, reasons, text = self._initial_state(job.hold_until)
        await self.gw.jobs.transition(job, state, reasons, text)
        self.gw.dispatcher.submit(job)

    # --- job control ----------------------------------------------------------------------

    async def _job(self, request: IppRequest, queue: QueueView) -> Job:
        job_id = _op_attr(request, "job-id")
        if job_id is not None:
            value = job_id.integer()
            if job_id.tag != Tag.INTEGER or value is None:
                raise IppError(Status.BAD_REQUEST, "job-id must be an integer", [job_id])
        else:
            job_uri = _op_attr(request, "job-uri")
            tail = (job_uri.text() or "").rstrip("/").rsplit("/", 1)[-1] if job_uri else ""
            if not tail.isdigit():
                raise IppError(Status.BAD_REQUEST, "job-id or job-uri is required")
            value = int(tail)
        job = await self.gw.jobs.get(value)
        if job is None or job.queue != queue.name:
            raise IppError(Status.NOT_FOUND, f"job {value} does not exist")
        return job

    def _check_owner(self, request: IppRequest, job: Job) -> None:
        user = requesting_user(request)
        if job.user and user != job.user:
            raise IppError(Status.NOT_AUTHORIZED, f"job {job.id} belongs to another user")

    async def cancel_job(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        self._check_owner(request, job)
        if job.is_terminal:
            raise IppError(Status.NOT_POSSIBLE, f"job {job.id} is already {job.state.name.lower()}")
        await self.gw.dispatcher.cancel(
            job, "job-canceled-by-user", f"Canceled by {requesting_user(request)}"
        )
        return self.response(request, Status.OK)

    async def cancel_my_jobs(self, request: IppRequest, queue: QueueView) -> Reply:
        user = requesting_user(request)
        ids_attr = _op_attr(request, "job-ids")
        wanted = {v for v in ids_attr.python_values() if isinstance(v, int)} if ids_attr else None
        jobs = await self.gw.jobs.list(queue.name, ACTIVE_STATES, user=user)
        for job in jobs:
            if wanted is None or job.id in wanted:
                await self.gw.dispatcher.cancel(job, "job-canceled-by-user", f"Canceled by {user}")
        return self.response(request, Status.OK)

    async def hold_job(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        self._check_owner(request, job)
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
                await self.gw.jobs.transition(
                    job, JobState.PENDING_HELD, (HELD,), "Held until released", hold_until=until
                )
        elif job.state != JobState.PENDING_HELD:
            raise IppError(Status.NOT_POSSIBLE, f"job {job.id} can no longer be held")
        return self.response(request, Status.OK)

    async def release_job(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        if held_for_credentials(job):
            return await self._readmit(request, queue, job)
        self._check_owner(request, job)
        if INCOMING in job.reasons:
            await self.gw.jobs.update(job, hold_until="no-hold")
        elif job.state == JobState.PENDING_HELD and HELD in job.reasons:
            await self.gw.jobs.transition(
                job, JobState.PENDING, ("none",), "Waiting to print", hold_until="no-hold"
            )
            self.gw.dispatcher.submit(job)
        else:
            raise IppError(Status.NOT_POSSIBLE, f"job {job.id} is not held")
        return self.response(request, Status.OK)

    async def set_job_attributes(self, request: IppRequest, queue: QueueView) -> Reply:
        """Held jobs take the accounting attributes they lack, then face the gate again."""
        job = await self._job(request, queue)
        group = request.message.group(Tag.JOB)
        if group is None or not group.attributes:
            raise IppError(Status.BAD_REQUEST, "no job attributes to set")
        bad = [a for a in group if a.name not in SETTABLE]
        if bad:
            raise IppError(
                Status.ATTRIBUTES_NOT_SETTABLE, "only accounting attributes can be set", bad
            )
        if job.state != JobState.PENDING_HELD:
            raise IppError(Status.NOT_POSSIBLE, f"job {job.id} is no longer held")
        names = {a.name for a in group}
        template = [a for a in decode_template(job.template) if a.name not in names]
        await self.gw.jobs.update(job, template=encode_template([*template, *group]))
        if held_for_credentials(job):
            return await self._readmit(request, queue, job)
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

    # --- queries --------------------------------------------------------------------------

    async def get_job_attributes(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        attrs = job_attributes(job, request.origin, int(time.time()), _requested(request))
        return self.response(request, Status.OK, m.group(Tag.JOB, attrs))

    async def get_jobs(self, request: IppRequest, queue: QueueView) -> Reply:
        which = _op_text(request, "which-jobs") or "not-completed"
        if which not in WHICH_JOBS:
            raise IppError(
                Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                f"which-jobs {which}",
                [m.keyword("which-jobs", which)],
            )
        limit_attr = _op_attr(request, "limit")
        limit = limit_attr.integer() if limit_attr else None
        if limit_attr is not None and (limit is None or limit < 1):
            raise IppError(Status.BAD_REQUEST, "limit must be a positive integer", [limit_attr])
        user = requesting_user(request) if _op_bool(request, "my-jobs", False) else None
        requested = _requested(request)
        jobs = await self.gw.jobs.list(
            queue.name,
            WHICH_STATES[which],
            user=user,
            limit=limit,
            newest_first=which == "completed",
        )
        up_time = int(time.time())
        names = requested if requested is not None else list(GET_JOBS_DEFAULT)
        groups = [m.group(Tag.JOB, job_attributes(j, request.origin, up_time, names)) for j in jobs]
        return self.response(request, Status.OK, *groups)

    async def get_printer_attributes(self, request: IppRequest, queue: QueueView) -> Reply:
        requested = _requested(request)
        document_format = _op_text(request, "document-format")
        if document_format is not None and document_format not in queue.document_formats():
            raise IppError(
                Status.DOCUMENT_FORMAT_NOT_SUPPORTED,
                f"document-format {document_format} is not supported",
                [m.mime("document-format", document_format)],
            )
        encoded = queue.encoded(
            requested, document_format, request.origin, self.auth_methods(queue)
        )
        message = request.message
        reply = b"".join(
            (
                encode_header(_reply_version(message), Status.OK, message.request_id),
                OK_OPERATION_GROUP,
                bytes((Tag.PRINTER,)),
                encoded,
                bytes((Tag.END,)),
            )
        )
        if message.version in SUPPORTED_VERSIONS:
            self._remember(request, queue, reply)
        return reply

    def auth_methods(self, queue: QueueView) -> str:
        return URI_AUTHENTICATION[queue.queue.auth]

    async def identify_printer(self, request: IppRequest, queue: QueueView) -> Reply:
        return self.response(request, Status.OK)


def presented(request: IppRequest, template: list[Attribute]) -> Presented:
    """The credentials a request carries, wherever the client put them."""

    def value(name: str) -> str | None:
        attribute = _op_attr(request, name) or next((a for a in template if a.name == name), None)
        if attribute is None:
            return None
        raw = attribute.value
        if isinstance(raw, bytes):  # job-password is an octetString
            return raw.decode("utf-8", "replace")
        return attribute.text()

    return Presented(
        http_user=request.http_user,
        http_password=request.http_password,
        requesting_user=_op_text(request, "requesting-user-name"),
        accounting_user=value("job-accounting-user-id"),
        pin=value("job-password"),
        account_id=value("job-account-id"),
    )


@functools.lru_cache(maxsize=256)
def queue_name(uri: str) -> str | None:
    """The queue a printer-uri or job-uri names: ipp://host/ipp/print/<queue>[/<job-id>]."""
    parts = urlsplit(uri).path.rstrip("/").split("/")
    if len(parts) < 4 or parts[1:3] != ["ipp", "print"]:
        return None
    return parts[3]


def _without_request_id(raw: bytes) -> bytes:
    return raw[:4] + raw[8:]


def _reply_version(message: Message) -> tuple[int, int]:
    return message.version if message.version in SUPPORTED_VERSIONS else (2, 0)


def _ok(unsupported: list[Attribute]) -> Status:
    return Status.OK_IGNORED_OR_SUBSTITUTED if unsupported else Status.OK


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


HANDLERS: dict[int, Handler] = {
    Op.PRINT_JOB: Operations.print_job,
    Op.VALIDATE_JOB: Operations.validate_job,
    Op.CREATE_JOB: Operations.create_job,
    Op.SEND_DOCUMENT: Operations.send_document,
    Op.CLOSE_JOB: Operations.close_job,
    Op.CANCEL_JOB: Operations.cancel_job,
    Op.CANCEL_MY_JOBS: Operations.cancel_my_jobs,
    Op.GET_JOB_ATTRIBUTES: Operations.get_job_attributes,
    Op.GET_JOBS: Operations.get_jobs,
    Op.GET_PRINTER_ATTRIBUTES: Operations.get_printer_attributes,
    Op.HOLD_JOB: Operations.hold_job,
    Op.RELEASE_JOB: Operations.release_job,
    Op.IDENTIFY_PRINTER: Operations.identify_printer,
    Op.SET_JOB_ATTRIBUTES: Operations.set_job_attributes,
}

"""The part every operation shares: the request as the server hands it over, the one
validation step, responses, and job look-up."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ...identity.gate import Gate, Presented
from ...identity.release import ReleaseDesk
from ...ipp import Attribute, Group, Message, Status, Tag
from ...ipp import model as m
from ...jobs.manager import JobManager
from ...jobs.record import Job
from ...jobs.spool import Spool
from ...printers.dispatcher import Dispatcher
from ...tasks import TaskKeeper
from ..job_attrs import job_attributes
from ..notifier import Notifier
from ..queue_attrs import Origin, QueueView
from ..queues_live import LiveQueues
from .document_list import DocumentList
from .queue_admin import QUEUE_ADMIN_FILE, QueueAdmin

SUPPORTED_VERSIONS = {(1, 0), (1, 1), (2, 0), (2, 1), (2, 2)}
CHARSETS = {"utf-8", "us-ascii"}
Reply = Message | bytes


class IppError(Exception):
    def __init__(self, status: Status, message: str, unsupported: list[Attribute] | None = None):
        super().__init__(message)
        self.status = status
        self.unsupported = unsupported or []


def not_supported(status: Status, attribute: Attribute) -> IppError:
    """The error for a value the queue does not take, with it in the unsupported group."""
    return IppError(status, f"{attribute.name} {attribute.text()} is not supported", [attribute])


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
    # Set only in-process, by My printing's web print: the person its sign-in proved.
    proven_user: str | None = None
    # The origin the server saw (Host header): what stored answers are found by.
    http_origin: Origin = field(init=False)

    def __post_init__(self) -> None:
        # Every URI in the answer names the host and port the client addressed in its
        # printer-uri (or job-uri): libcups rewrites the Host header of a request to
        # 127.0.0.1 into "localhost", and a proxy in between may rewrite it too.
        object.__setattr__(self, "http_origin", self.origin)
        object.__setattr__(self, "origin", addressed(self.message, self.origin))


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
    # The live set of printers and queues (the console changes it); None in a gateway built
    # without the service.
    live_queues: LiveQueues | None = None
    started: float = field(default_factory=time.time)
    notifier: Notifier | None = None  # event subscriptions (server/notifier.py)
    # What operators set on the queues, kept beside the spool (in the data directory); one
    # for all the Operations built on this gateway (the server's, the web print's).
    admin: QueueAdmin = field(init=False)
    documents: DocumentList = field(init=False)  # of multiple-document jobs

    def __post_init__(self) -> None:
        self.admin = QueueAdmin(self.spool.root.parent / QUEUE_ADMIN_FILE)
        self.dispatcher.held_back = self.admin.paused
        self.documents = DocumentList(self.spool)
        self.jobs.hooks.add(self.documents)


# What a host[:port] from a request may hold: names, IPv4, bracketed IPv6 (with a zone).
HOST_PORT = re.compile(r"[A-Za-z0-9._~%-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.%A-Za-z]+\](:[0-9]{1,5})?")


def addressed(message: Message, fallback: Origin) -> Origin:
    """The origin the client addressed: host and port of the request's printer-uri (else its
    job-uri), without user information; the Host header's when there is neither or it is not
    a plain host[:port]."""
    target = message.groups[0].get("printer-uri") if message.groups else None
    if target is None and message.groups:
        target = message.groups[0].get("job-uri")
    if target is None or not isinstance(target.value, str):
        return fallback
    netloc = _host_port(target.value)
    if netloc is None or netloc == fallback.host:
        return fallback
    return Origin(host=netloc, secure=fallback.secure)


@functools.lru_cache(maxsize=256)
def _host_port(uri: str) -> str | None:
    netloc = urlsplit(uri).netloc.rpartition("@")[2]
    return netloc if netloc and HOST_PORT.fullmatch(netloc) else None


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


# RFC 8011 5.1.2-5.1.3: names are at most 255 octets, text 1023; both are UTF-8 without the
# control characters (text may hold CR, LF and TAB). What breaks these rules would otherwise
# reach the store (PostgreSQL refuses NUL and over-long values) and job records.
STRING_LIMITS: dict[int, int] = {Tag.NAME: 255, Tag.TEXT: 1023, Tag.KEYWORD: 255}
TEXT_CONTROLS = frozenset("\t\r\n")


def _check_strings(attributes: tuple[Attribute, ...]) -> None:
    for attribute in attributes:
        for value in attribute.values:
            limit = STRING_LIMITS.get(value.tag)
            if limit is None or not isinstance(value.value, str):
                continue
            text = value.value
            try:
                size = len(text.encode("utf-8"))
            except UnicodeEncodeError:
                raise IppError(
                    Status.BAD_REQUEST, f"{attribute.name} is not valid UTF-8", [attribute]
                ) from None
            if size > limit:
                raise IppError(
                    Status.REQUEST_VALUE_TOO_LONG,
                    f"{attribute.name} is longer than {limit} octets",
                    [attribute],
                )
            allowed = TEXT_CONTROLS if value.tag == Tag.TEXT else frozenset()
            if any((ord(c) < 32 or ord(c) == 127) and c not in allowed for c in text):
                raise IppError(
                    Status.BAD_REQUEST, f"{attribute.name} holds control characters", [attribute]
                )


def requesting_user(request: IppRequest) -> str:
    return request.http_user or _op_text(request, "requesting-user-name") or "anonymous"


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
        proven_user=request.proven_user,
    )


@functools.lru_cache(maxsize=256)
def queue_name(uri: str) -> str | None:
    """The queue a printer-uri or job-uri names: ipp://host/ipp/print/<queue>[/<job-id>]."""
    parts = urlsplit(uri).path.rstrip("/").split("/")
    if len(parts) < 4 or parts[1:3] != ["ipp", "print"]:
        return None
    return parts[3]


def _reply_version(message: Message) -> tuple[int, int]:
    return message.version if message.version in SUPPORTED_VERSIONS else (2, 0)


def _ok(unsupported: list[Attribute]) -> Status:
    return Status.OK_IGNORED_OR_SUBSTITUTED if unsupported else Status.OK


class Core:
    """Shared by the operation groups (creating, control, queries)."""

    gw: Gateway
    admin: QueueAdmin  # what operators set on the queues (operations/admin.py)

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
            _check_strings(group.attributes)
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

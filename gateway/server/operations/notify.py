"""The subscription operations of RFC 3995 with the ippget pull method of RFC 3996:
Create-Printer-Subscriptions, Create-Job-Subscriptions, Get-Subscription-Attributes,
Get-Subscriptions, Renew-Subscription, Cancel-Subscription and Get-Notifications, and the
subscription templates clients put in Print-Job and Create-Job.

Push methods (notify-recipient-uri) are not offered: such a subscription is refused with
client-error-uri-scheme-not-supported in its own group, as RFC 3995 asks. Get-Notifications
honours notify-wait: with no new event it answers at the next event or after at most
WAIT_SECONDS, whichever comes first."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ...ipp import Attribute, Group, Message, Op, PrinterState, Status, Tag
from ...ipp import model as m
from ...jobs.record import Job
from ..notifier import Notifier
from ..queue_attrs import QueueView
from ..queue_tables import add_support
from ..subscriptions import (
    EVENTS_SUPPORTED,
    JOB_DEFAULT_EVENTS,
    PRINTER_DEFAULT_EVENTS,
    USER_DATA_MAX,
    Notice,
    NotifyStatus,
    Subscription,
    SubscriptionError,
    granted_lease,
    printer_attributes,
)
from .core import Core, IppError, IppRequest, Reply, _op_attr, _op_bool, requesting_user
from .privacy import authorize

WAIT_SECONDS = 30.0
GET_INTERVAL = 60  # notify-get-interval when nothing is happening
TEMPLATE = (
    "notify-events",
    "notify-lease-duration",
    "notify-pull-method",
    "notify-time-interval",
    "notify-user-data",
    "notify-charset",
    "notify-natural-language",
)

Ops = TypeVar("Ops", bound=Core)
Handler = Callable[[Ops, IppRequest, QueueView], Awaitable[Reply]]


def _notifier(ops: Core) -> Notifier:
    notifier = getattr(ops.gw, "notifier", None)
    if not isinstance(notifier, Notifier):
        raise IppError(Status.OPERATION_NOT_SUPPORTED, "event notifications are not set up")
    return notifier


def _integer(request: IppRequest, name: str, *groups: Group) -> int | None:
    for group in (request.message.operation, *groups):
        attribute = group.get(name)
        if attribute is not None:
            value = attribute.integer()
            if attribute.tag != Tag.INTEGER or value is None:
                raise IppError(Status.BAD_REQUEST, f"{name} must be an integer", [attribute])
            return value
    return None


def _printer_uri(request: IppRequest, queue: QueueView) -> str:
    origin = request.origin
    return f"{origin.ipp_scheme}://{origin.host}/ipp/print/{queue.name}"


# --- creating ---------------------------------------------------------------------------


def _from_template(
    request: IppRequest, queue: QueueView, group: Group, job: Job | None, now: int
) -> tuple[Subscription | None, int]:
    """A subscription as one subscription-attributes group asks (not yet stored), or None and
    the notify-status-code that refuses it; else the group's status (ok or substituted)."""
    status = Status.OK
    if group.get("notify-recipient-uri") is not None:
        return None, Status.URI_SCHEME_NOT_SUPPORTED
    method = group.get("notify-pull-method")
    if method is None:
        return None, Status.BAD_REQUEST
    if method.tag != Tag.KEYWORD or method.text() != "ippget":
        return None, Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    charset = group.get("notify-charset")
    if charset is not None and (charset.text() or "").lower() not in ("utf-8", "us-ascii"):
        return None, Status.CHARSET_NOT_SUPPORTED
    user_data = group.get("notify-user-data")
    data: bytes | None = None
    if user_data is not None:
        raw = user_data.value
        if not isinstance(raw, bytes) or len(user_data.values) != 1:
            return None, Status.BAD_REQUEST
        if len(raw) > USER_DATA_MAX:
            return None, Status.REQUEST_VALUE_TOO_LONG
        data = raw
    events_attr = group.get("notify-events")
    events: tuple[str, ...] = ()
    if events_attr is not None:
        asked = events_attr.strings()
        events = tuple(e for e in asked if e in EVENTS_SUPPORTED and e != "none")
        if len(events) != len([e for e in asked if e != "none"]):
            status = Status.OK_IGNORED_OR_SUBSTITUTED
    if events_attr is None or (not events and "none" not in events_attr.strings()):
        events = JOB_DEFAULT_EVENTS if job is not None else PRINTER_DEFAULT_EVENTS
    lease_attr = group.get("notify-lease-duration")
    lease = 0
    if job is not None:
        if lease_attr is not None:  # a job subscription lasts as long as its job
            status = Status.OK_IGNORED_OR_SUBSTITUTED
    else:
        asked_lease = lease_attr.integer() if lease_attr is not None else None
        lease = granted_lease(asked_lease)
        if asked_lease is not None and asked_lease != lease:
            status = Status.OK_IGNORED_OR_SUBSTITUTED
    interval = group.get("notify-time-interval")
    subscription = Subscription(
        id=0,
        uuid=f"urn:uuid:{uuid.uuid4()}",
        queue=queue.name,
        owner=requesting_user(request),
        events=events,
        printer_uri=_printer_uri(request, queue),
        created_at=now,
        job_id=job.id if job is not None else None,
        lease=lease,
        time_interval=max(0, interval.integer() or 0) if interval is not None else 0,
        user_data=data,
    )
    return subscription, status


def _create(
    ops: Core, request: IppRequest, queue: QueueView, job: Job | None, with_job: bool = False
) -> tuple[list[Group], int]:
    """One answer group per subscription group of the request, and the overall status;
    `with_job`: the subscriptions came in the request that made the job."""
    notifier = _notifier(ops)
    groups = request.message.groups_of(Tag.SUBSCRIPTION)
    answers: list[Group] = []
    created = 0
    now = notifier.clock()
    notifier.watch(queue)
    for group in groups:
        subscription, status = _from_template(request, queue, group, job, now)
        if subscription is not None:
            try:
                notifier.table.add(subscription, now)
            except SubscriptionError as exc:
                subscription, status = None, exc.status
        if subscription is None:
            answers.append(m.group(Tag.SUBSCRIPTION, [m.enum("notify-status-code", status)]))
            continue
        created += 1
        attributes = [m.integer("notify-subscription-id", subscription.id)]
        if not subscription.is_job:
            attributes.append(m.integer("notify-lease-duration", subscription.lease))
        if status != Status.OK:
            attributes.append(m.enum("notify-status-code", status))
        answers.append(m.group(Tag.SUBSCRIPTION, attributes))
        if job is not None and with_job:
            _catch_up(notifier, subscription, job)
    if created == len(groups):
        return answers, Status.OK
    if created:
        return answers, NotifyStatus.OK_IGNORED_SUBSCRIPTIONS
    return answers, NotifyStatus.IGNORED_ALL_SUBSCRIPTIONS


def _catch_up(notifier: Notifier, subscription: Subscription, job: Job) -> None:
    """A subscription made with its job (a template in Print-Job or Create-Job) hears the
    job-created it came with, and job-completed if the job already ended."""
    if subscription.hears("job-created"):
        notifier.job_event_for(subscription, job, "job-created", f"Job {job.id} created.")
    if job.is_terminal and subscription.hears("job-completed"):
        notifier.job_event_for(subscription, job, "job-completed", f"Job {job.id} ended.")


async def create_printer_subscriptions(ops: Core, request: IppRequest, queue: QueueView) -> Reply:
    if not request.message.groups_of(Tag.SUBSCRIPTION):
        raise IppError(Status.BAD_REQUEST, "no subscription attributes in the request")
    answers, status = _create(ops, request, queue, None)
    return ops.response(request, status, *answers)


async def create_job_subscriptions(ops: Core, request: IppRequest, queue: QueueView) -> Reply:
    groups = request.message.groups_of(Tag.SUBSCRIPTION)
    if not groups:
        raise IppError(Status.BAD_REQUEST, "no subscription attributes in the request")
    job_id = _integer(request, "notify-job-id", *groups)
    if job_id is None:
        raise IppError(Status.BAD_REQUEST, "notify-job-id is required")
    job = await ops.gw.jobs.get(job_id)
    if job is None or job.queue != queue.name:
        raise IppError(Status.NOT_FOUND, f"job {job_id} does not exist")
    await authorize(ops.gw, request, queue, job)
    if job.is_terminal:
        raise IppError(Status.NOT_POSSIBLE, f"job {job_id} has already ended")
    answers, status = _create(ops, request, queue, job)
    return ops.response(request, status, *answers)


def with_subscriptions(handler: Handler[Ops]) -> Handler[Ops]:
    """Print-Job or Create-Job that also makes the job subscriptions the request's
    subscription-attributes groups ask for (RFC 3995 section 11.1.1)."""

    async def creating(ops: Ops, request: IppRequest, queue: QueueView) -> Reply:
        reply = await handler(ops, request, queue)
        if not request.message.groups_of(Tag.SUBSCRIPTION):
            return reply
        message = reply if isinstance(reply, Message) else None
        if message is None or not Status(message.code).is_success:
            return reply  # a refused job gets no subscriptions (or the reply is pre-encoded)
        job_group = message.group(Tag.JOB)
        job_id = job_group.get("job-id") if job_group is not None else None
        job = await ops.gw.jobs.get(job_id.integer() or 0) if job_id is not None else None
        if job is None:
            return reply
        answers, status = _create(ops, request, queue, job, with_job=True)
        code = message.code if status == Status.OK else NotifyStatus.OK_IGNORED_SUBSCRIPTIONS
        return Message(message.version, code, message.request_id, (*message.groups, *answers))

    return creating


# --- reading, renewing, cancelling ------------------------------------------------------


def _subscription(ops: Core, request: IppRequest, queue: QueueView) -> Subscription:
    notifier = _notifier(ops)
    subscription_id = _integer(request, "notify-subscription-id")
    if subscription_id is None:
        raise IppError(Status.BAD_REQUEST, "notify-subscription-id is required")
    subscription = notifier.table.get(subscription_id, notifier.clock())
    if subscription is None or subscription.queue != queue.name:
        raise IppError(Status.NOT_FOUND, f"subscription {subscription_id} does not exist")
    return subscription


def _check_subscriber(request: IppRequest, subscription: Subscription) -> None:
    if requesting_user(request) != subscription.owner:
        raise IppError(
            Status.NOT_AUTHORIZED, f"subscription {subscription.id} belongs to another user"
        )


DESCRIPTION = (
    "notify-subscription-id",
    "notify-subscription-uuid",
    "notify-printer-uri",
    "notify-job-id",
    "notify-subscriber-user-name",
    "notify-sequence-number",
    "notify-lease-expiration-time",
    "printer-up-time",
)


def subscription_attributes(
    subscription: Subscription, requested: list[str] | None, now: int
) -> list[Attribute]:
    names = set(requested or ["all"])
    if "all" in names:
        names |= {*TEMPLATE, *DESCRIPTION}
    if "subscription-template" in names:
        names |= set(TEMPLATE)
    if "subscription-description" in names:
        names |= set(DESCRIPTION)
    s = subscription
    every: list[Attribute | None] = [
        m.integer("notify-subscription-id", s.id),
        m.uri("notify-subscription-uuid", s.uuid),
        m.uri("notify-printer-uri", s.printer_uri),
        m.integer("notify-job-id", s.job_id) if s.job_id is not None else None,
        m.name_("notify-subscriber-user-name", s.owner),
        m.integer("notify-sequence-number", s.next_sequence - 1),
        m.keyword("notify-events", *s.events) if s.events else m.keyword("notify-events", "none"),
        m.keyword("notify-pull-method", "ippget"),
        None if s.is_job else m.integer("notify-lease-duration", s.lease),
        None if s.expires_at is None else m.integer("notify-lease-expiration-time", s.expires_at),
        m.integer("notify-time-interval", s.time_interval),
        m.attr("notify-user-data", Tag.OCTET_STRING, s.user_data) if s.user_data else None,
        m.charset("notify-charset", "utf-8"),
        m.language("notify-natural-language", "en"),
        m.integer("printer-up-time", now),
    ]
    return [a for a in every if a is not None and a.name in names]


def _requested(request: IppRequest) -> list[str] | None:
    attribute = _op_attr(request, "requested-attributes")
    return attribute.strings() if attribute is not None else None


async def get_subscription_attributes(ops: Core, request: IppRequest, queue: QueueView) -> Reply:
    subscription = _subscription(ops, request, queue)
    now = _notifier(ops).clock()
    attributes = subscription_attributes(subscription, _requested(request), now)
    return ops.response(request, Status.OK, m.group(Tag.SUBSCRIPTION, attributes))


async def get_subscriptions(ops: Core, request: IppRequest, queue: QueueView) -> Reply:
    notifier = _notifier(ops)
    now = notifier.clock()
    job_id = _integer(request, "notify-job-id")
    limit = _integer(request, "limit")
    mine = _op_bool(request, "my-subscriptions", False)
    user = requesting_user(request)
    found = [
        s
        for s in notifier.table.all(now)
        if s.queue == queue.name and s.job_id == job_id and (not mine or s.owner == user)
    ]
    if limit is not None and limit > 0:
        found = found[:limit]
    requested = _requested(request)
    groups = [m.group(Tag.SUBSCRIPTION, subscription_attributes(s, requested, now)) for s in found]
    return ops.response(request, Status.OK, *groups)


async def renew_subscription(ops: Core, request: IppRequest, queue: QueueView) -> Reply:
    subscription = _subscription(ops, request, queue)
    _check_subscriber(request, subscription)
    if subscription.is_job:
        raise IppError(Status.NOT_POSSIBLE, "a job subscription lasts as long as its job")
    asked = _integer(request, "notify-lease-duration", *request.message.groups_of(Tag.SUBSCRIPTION))
    lease = granted_lease(asked)
    notifier = _notifier(ops)
    notifier.table.renew(subscription, lease, notifier.clock())
    status = Status.OK if asked is None or asked == lease else Status.OK_IGNORED_OR_SUBSTITUTED
    group = m.group(Tag.SUBSCRIPTION, [m.integer("notify-lease-duration", lease)])
    return ops.response(request, status, group)


async def cancel_subscription(ops: Core, request: IppRequest, queue: QueueView) -> Reply:
    subscription = _subscription(ops, request, queue)
    _check_subscriber(request, subscription)
    _notifier(ops).table.cancel(subscription.id)
    return ops.response(request, Status.OK)


# --- Get-Notifications --------------------------------------------------------------------


async def get_notifications(ops: Core, request: IppRequest, queue: QueueView) -> Reply:
    notifier = _notifier(ops)
    ids_attr = _op_attr(request, "notify-subscription-ids")
    if ids_attr is None or ids_attr.tag != Tag.INTEGER:
        raise IppError(Status.BAD_REQUEST, "notify-subscription-ids (integers) is required")
    ids = [v for v in ids_attr.python_values() if isinstance(v, int)]
    sequences_attr = _op_attr(request, "notify-sequence-numbers")
    sequences = (
        [v for v in sequences_attr.python_values() if isinstance(v, int)]
        if sequences_attr is not None
        else []
    )
    wait = _op_bool(request, "notify-wait", False)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        now = notifier.clock()
        subscriptions = []
        for subscription_id in ids:
            subscription = notifier.table.get(subscription_id, now)
            if subscription is None or subscription.queue != queue.name:
                raise IppError(Status.NOT_FOUND, f"subscription {subscription_id} does not exist")
            _check_subscriber(request, subscription)
            subscriptions.append(subscription)
        pending = [
            (s, s.since(sequences[i] if i < len(sequences) else 1))
            for i, s in enumerate(subscriptions)
        ]
        has_events = any(notices for _, notices in pending)
        complete = all(s.complete for s in subscriptions)
        left = deadline - time.monotonic()
        if not wait or has_events or complete or left <= 0:
            break
        await notifier.wait(left)
    interval = _get_interval(ops, subscriptions)
    operation_extra = [m.integer("printer-up-time", now)]
    if interval:
        operation_extra.insert(0, m.integer("notify-get-interval", interval))
    events = [
        m.group(Tag.EVENT_NOTIFICATION, _event_attributes(s, notice))
        for s, notices in pending
        for notice in notices
    ]
    status = NotifyStatus.OK_EVENTS_COMPLETE if interval == 0 else Status.OK
    reply = ops.response(request, status, *events)
    operation = reply.groups[0]
    groups = (
        m.group(Tag.OPERATION, [*operation.attributes, *operation_extra]),
        *reply.groups[1:],
    )
    return Message(reply.version, reply.code, reply.request_id, groups)


def _get_interval(ops: Core, subscriptions: list[Subscription]) -> int:
    """When to ask again (cupsd's rule): 0 once every subscription's job has ended, sooner
    while a job or the queue is busy."""
    if subscriptions and all(s.complete for s in subscriptions):
        return 0
    interval = GET_INTERVAL
    for subscription in subscriptions:
        if subscription.is_job:
            interval = min(interval, 10)
        view = ops.gw.queues.get(subscription.queue)
        if view is not None and view.state()[0] != PrinterState.IDLE:
            interval = min(interval, 30)
    return interval


def _event_attributes(subscription: Subscription, notice: Notice) -> list[Attribute]:
    head = [
        m.charset("notify-charset", "utf-8"),
        m.language("notify-natural-language", "en"),
        m.integer("notify-subscription-id", subscription.id),
        m.integer("notify-sequence-number", notice.sequence),
        m.keyword("notify-subscribed-event", notice.event),
        m.text("notify-text", notice.text[:1023]),
        m.integer("printer-up-time", notice.at),
    ]
    if subscription.user_data:
        head.append(m.attr("notify-user-data", Tag.OCTET_STRING, subscription.user_data))
    return [*head, *notice.attributes]


def handlers(table: dict[int, Handler[Ops]]) -> dict[int, Handler[Ops]]:
    """The subscription operations, and `table`'s job-creating handlers wrapped to honour
    subscription templates: merged into the operations' handler table."""
    added: dict[int, Handler[Ops]] = {
        Op.CREATE_PRINTER_SUBSCRIPTIONS: create_printer_subscriptions,
        Op.CREATE_JOB_SUBSCRIPTIONS: create_job_subscriptions,
        Op.GET_SUBSCRIPTION_ATTRIBUTES: get_subscription_attributes,
        Op.GET_SUBSCRIPTIONS: get_subscriptions,
        Op.RENEW_SUBSCRIPTION: renew_subscription,
        Op.CANCEL_SUBSCRIPTION: cancel_subscription,
        Op.GET_NOTIFICATIONS: get_notifications,
    }
    for op in (Op.PRINT_JOB, Op.CREATE_JOB):
        if op in table:
            added[op] = with_subscriptions(table[op])
    return added


add_support(
    [
        Op.CREATE_PRINTER_SUBSCRIPTIONS,
        Op.CREATE_JOB_SUBSCRIPTIONS,
        Op.GET_SUBSCRIPTION_ATTRIBUTES,
        Op.GET_SUBSCRIPTIONS,
        Op.RENEW_SUBSCRIPTION,
        Op.CANCEL_SUBSCRIPTION,
        Op.GET_NOTIFICATIONS,
    ],
    printer_attributes(),
)

"""Event subscriptions and the events they collect (RFC 3995 objects, RFC 3996 `ippget`).

The table is pure: no IO and no clock of its own; every call that depends on the time takes
`now` (seconds since the epoch, the unit printgate's `printer-up-time` uses too). It lives in
memory: subscriptions, like cupsd's with `PreserveJobHistory` off, do not survive a restart;
clients that poll learn it from `client-error-not-found` and subscribe again.

A printer subscription lives until its lease ends (renewed by Renew-Subscription); a job
subscription until its job has ended and its last events have aged past `EVENT_LIFE`, so the
client can still fetch job-completed. Each keeps at most `MAX_EVENTS` events, each for at most
`EVENT_LIFE` seconds.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..ipp import Attribute, Range
from ..ipp import model as m

# Operations and status codes of RFC 3995/3996 (not in ipp.enums yet).


class NotifyStatus(enum.IntEnum):
    OK_IGNORED_SUBSCRIPTIONS = 0x0003
    OK_TOO_MANY_EVENTS = 0x0005
    OK_EVENTS_COMPLETE = 0x0007
    IGNORED_ALL_SUBSCRIPTIONS = 0x0414
    TOO_MANY_SUBSCRIPTIONS = 0x0415


JOB_EVENTS = (
    "job-completed",
    "job-config-changed",
    "job-created",
    "job-state-changed",
    "job-stopped",
)
PRINTER_EVENTS = ("printer-config-changed", "printer-state-changed", "printer-stopped")
EVENTS_SUPPORTED = ("none", *JOB_EVENTS, *PRINTER_EVENTS)
# RFC 3995: with no notify-events, a job subscription hears job-completed; a printer one,
# printer-state-changed (cupsd's choice too).
JOB_DEFAULT_EVENTS = ("job-completed",)
PRINTER_DEFAULT_EVENTS = ("printer-state-changed",)
LEASE_DEFAULT = 86400
LEASE_MAX = 86400  # a lease of 0 ("for ever") gets this: the table lives in memory
EVENT_LIFE = 300  # ippget-event-life: RFC 3996 asks for at least 15 s
MAX_EVENTS = 100  # per subscription
MAX_SUBSCRIPTIONS = 1000  # in all
MAX_PER_OWNER = 100
USER_DATA_MAX = 63


@dataclass(frozen=True)
class Notice:
    """One event as a subscription keeps it; `attributes` describe the job or printer as it
    was when the event happened."""

    sequence: int
    event: str
    at: int
    text: str
    attributes: tuple[Attribute, ...]


@dataclass
class Subscription:
    id: int
    uuid: str
    queue: str
    owner: str
    events: tuple[str, ...]
    printer_uri: str  # as the subscriber addressed the queue
    created_at: int
    job_id: int | None = None
    lease: int = 0  # seconds; job subscriptions have none
    expires_at: int | None = None  # printer subscriptions: the lease's end
    time_interval: int = 0
    user_data: bytes | None = None
    job_ended_at: int | None = None
    notices: list[Notice] = field(default_factory=list)
    next_sequence: int = 1

    @property
    def is_job(self) -> bool:
        return self.job_id is not None

    def hears(self, event: str) -> bool:
        if event in self.events:
            return True
        # RFC 3995 5.3.3: job-completed and job-stopped are also job-state-changed events.
        return event in ("job-completed", "job-stopped") and "job-state-changed" in self.events

    def since(self, sequence: int) -> list[Notice]:
        return [n for n in self.notices if n.sequence >= sequence]

    @property
    def complete(self) -> bool:
        """No event will ever come again (its job ended)."""
        return self.job_ended_at is not None


class SubscriptionError(Exception):
    """A request the table refuses; `status` is the IPP status to answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def granted_lease(requested: int | None) -> int:
    """The lease a printer subscription gets: the default when none was asked, at most
    LEASE_MAX, and LEASE_MAX for "no end" (0)."""
    if requested is None:
        return LEASE_DEFAULT
    if requested <= 0 or requested > LEASE_MAX:
        return LEASE_MAX
    return requested


class SubscriptionTable:
    def __init__(self) -> None:
        self._subscriptions: dict[int, Subscription] = {}
        self._next_id = 1

    def add(self, subscription: Subscription, now: int) -> Subscription:
        """Stores it with the next id (the one it carries is ignored)."""
        self.expire(now)
        if len(self._subscriptions) >= MAX_SUBSCRIPTIONS:
            raise SubscriptionError(
                NotifyStatus.TOO_MANY_SUBSCRIPTIONS, "There are too many subscriptions."
            )
        owned = sum(1 for s in self._subscriptions.values() if s.owner == subscription.owner)
        if owned >= MAX_PER_OWNER:
            raise SubscriptionError(
                NotifyStatus.TOO_MANY_SUBSCRIPTIONS, f"{subscription.owner} has too many."
            )
        subscription.id = self._next_id
        self._next_id += 1
        if not subscription.is_job:
            subscription.expires_at = now + subscription.lease
        self._subscriptions[subscription.id] = subscription
        return subscription

    def get(self, subscription_id: int, now: int) -> Subscription | None:
        self.expire(now)
        return self._subscriptions.get(subscription_id)

    def all(self, now: int) -> list[Subscription]:
        self.expire(now)
        return sorted(self._subscriptions.values(), key=lambda s: s.id)

    def cancel(self, subscription_id: int) -> None:
        self._subscriptions.pop(subscription_id, None)

    def renew(self, subscription: Subscription, lease: int, now: int) -> None:
        subscription.lease = lease
        subscription.expires_at = now + lease

    def expire(self, now: int) -> None:
        """Drops ended leases, events older than EVENT_LIFE, and job subscriptions whose job
        ended longer than EVENT_LIFE ago."""
        for subscription in list(self._subscriptions.values()):
            if subscription.expires_at is not None and subscription.expires_at <= now:
                del self._subscriptions[subscription.id]
            elif (
                subscription.job_ended_at is not None
                and subscription.job_ended_at + EVENT_LIFE <= now
            ):
                del self._subscriptions[subscription.id]
            elif subscription.notices and subscription.notices[0].at + EVENT_LIFE <= now:
                subscription.notices = [n for n in subscription.notices if n.at + EVENT_LIFE > now]

    def listeners(self, queue: str, job_id: int | None, event: str) -> list[Subscription]:
        """The subscriptions that hear `event` of this queue (and job, for a job event)."""
        found = []
        for subscription in self._subscriptions.values():
            if subscription.queue != queue or subscription.complete:
                continue
            if subscription.is_job and subscription.job_id != job_id:
                continue
            if subscription.hears(event):
                found.append(subscription)
        return found

    def record(
        self,
        subscription: Subscription,
        event: str,
        text: str,
        attributes: Iterable[Attribute],
        now: int,
    ) -> Notice:
        notice = Notice(subscription.next_sequence, event, now, text, tuple(attributes))
        subscription.next_sequence += 1
        subscription.notices.append(notice)
        del subscription.notices[:-MAX_EVENTS]
        return notice

    def job_ended(self, job_id: int, now: int) -> None:
        for subscription in self._subscriptions.values():
            if subscription.job_id == job_id and subscription.job_ended_at is None:
                subscription.job_ended_at = now


def printer_attributes() -> list[Attribute]:
    """What a queue advertises of its event notifications (RFC 3995, 3996; PWG 5100.12)."""
    return [
        m.keyword("notify-events-default", *JOB_DEFAULT_EVENTS),
        m.keyword("notify-events-supported", *EVENTS_SUPPORTED),
        m.integer("notify-lease-duration-default", LEASE_DEFAULT),
        m.range_("notify-lease-duration-supported", Range(0, LEASE_MAX)),
        m.integer("notify-max-events-supported", MAX_EVENTS),
        m.keyword("notify-pull-method-supported", "ippget"),
        m.integer("ippget-event-life", EVENT_LIFE),
    ]

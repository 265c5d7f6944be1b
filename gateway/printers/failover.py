"""Failover policy: which printer a job goes to next, how long to wait, when to give up, and how
a job the printer may already have is resumed. Pure decisions on plain values; the dispatcher
and the forwarder act on them."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from ..jobs.state import ForwardPhase


@dataclass(frozen=True)
class Candidate:
    """One member of a queue's printer group as the policy sees it."""

    name: str
    available: bool  # up, or its back-off period is over
    takes_format: bool  # lists the job's document format


class Failure(enum.Enum):
    UNREACHABLE = "unreachable"  # no IPP conversation: refused, timed out, reset
    BUSY = "busy"  # answered, but cannot take a job now (busy, not accepting, temporary)
    REJECTED = "rejected"  # answered that it will not print this job (client error)


class Next(enum.Enum):
    RETRY_LATER = "retry-later"  # keep the job spooled, try the group again after a delay
    ABORT = "abort"  # nothing in the group can print it, or the retry window is over


@dataclass(frozen=True)
class RetryPolicy:
    initial_delay: float
    max_delay: float
    window: float

    def delay(self, attempt: int) -> float:
        """Exponential back-off: initial, 2x, 4x ... capped at max_delay."""
        return min(self.max_delay, self.initial_delay * 2.0 ** max(0, attempt - 1))

    def expired(self, first_failure: float | None, now: float) -> bool:
        return first_failure is not None and now - first_failure >= self.window


def choose(members: Sequence[Candidate], rejected_by: frozenset[str]) -> Candidate | None:
    """The first member, in the group's order, that is available, takes the format and has
    not already refused this job."""
    for member in members:
        if member.available and member.takes_format and member.name not in rejected_by:
            return member
    return None


def after_failure(
    failure: Failure,
    members: Sequence[Candidate],
    rejected_by: frozenset[str],
    first_failure: float | None,
    now: float,
    policy: RetryPolicy,
) -> Next:
    """What to do with a job whose last attempt failed."""
    if failure is Failure.REJECTED and all(
        m.name in rejected_by or not m.takes_format for m in members
    ):
        return Next.ABORT
    if policy.expired(first_failure, now):
        return Next.ABORT
    return Next.RETRY_LATER


def printer_backoff(consecutive_failures: int, policy: RetryPolicy) -> float:
    """How long a printer that failed is left alone before it is tried again."""
    return policy.delay(consecutive_failures)


class Upstream(enum.Enum):
    """What the printer says of a job printgate gave it."""

    UNKNOWN = "unknown"  # it answers, but has no such job (restarted, history cleared)
    INCOMPLETE = "incomplete"  # it has the job without the whole document, or ended it unprinted
    HAS_IT = "has-it"  # it has the whole job: printing, printed, or about to


class Resume(enum.Enum):
    SEND = "send"  # (again) from the start
    MONITOR = "monitor"  # the printer has it: follow it to its end
    LOST = "lost"  # nobody knows whether it printed: never send it twice, never call it printed


def resume(phase: ForwardPhase, upstream: Upstream) -> Resume:
    """How to go on with a job recorded at `phase`, from what its printer says of it. One rule
    for every moment: a printer that no longer knows a job it was given makes the job lost."""
    if phase not in (ForwardPhase.SENDING, ForwardPhase.SENT):
        return Resume.SEND
    if upstream is Upstream.UNKNOWN:
        return Resume.LOST
    if upstream is Upstream.INCOMPLETE and phase is ForwardPhase.SENDING:
        return Resume.SEND
    return Resume.MONITOR

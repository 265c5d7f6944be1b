"""The job state table: every legal change of a job's state is one row, keyed by (state, event).

Pure, as h11 keeps its connection state: no IO, no clock. An event says what happened (the
printer finished, the submitter held the job, ...) and carries the job-state-reasons and the
job-state-message that go with it; `next_state` looks the change up and refuses every pair the
table does not hold. The job manager applies what it answers and persists it; nothing else
decides a job's state.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from ..ipp.enums import JobState

INCOMING = "job-incoming"  # created, its document still to come
HELD = "job-hold-until-specified"  # held by its submitter (job-hold-until)

ACTIVE_STATES = (
    JobState.PENDING,
    JobState.PENDING_HELD,
    JobState.PROCESSING,
    JobState.PROCESSING_STOPPED,
)
TERMINAL_STATES = (JobState.CANCELED, JobState.ABORTED, JobState.COMPLETED)


class ForwardPhase(enum.StrEnum):
    """How far forwarding got, recorded before each step is taken."""

    NONE = ""
    CREATING = "creating"  # Create-Job (or Print-Job) sent; no upstream id yet
    SENDING = "sending"  # the printer has the job; its document may be incomplete
    SENT = "sent"  # the printer has the whole document
    LOST = "lost"  # the printer no longer knows the job: whether it printed is unknown


class AnalysisStatus(enum.StrEnum):
    PENDING = ""
    DONE = "done"
    FAILED = "failed"


class IllegalTransition(RuntimeError):
    pass


class JobAlreadyEnded(IllegalTransition):
    """The job reached a terminal state (canceled, say) while another change waited its turn:
    whoever asked for that change has nothing left to do."""


@dataclass(frozen=True)
class Event:
    """Something that happened to a job, and the job-state-reasons and job-state-message it
    leaves: REASONS unless the event names its own."""

    REASONS: ClassVar[tuple[str, ...]] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.REASONS

    @property
    def message(self) -> str:
        raise NotImplementedError


# --- a job comes in, waits, is held or released ----------------------------------------------


@dataclass(frozen=True)
class Queued(Event):
    """Complete, with nothing missing: it waits for its turn at a printer."""

    REASONS = ("none",)

    @property
    def message(self) -> str:
        return "Waiting to print"


@dataclass(frozen=True)
class HeldBySubmitter(Event):
    """Held as its submitter asked (job-hold-until, Hold-Job)."""

    REASONS = (HELD,)

    @property
    def message(self) -> str:
        return "Held until released"


@dataclass(frozen=True)
class HeldForCredentials(Event):
    """The gate held it: account-info-needed or account-authorization-failed."""

    reason: str
    text: str

    @property
    def reasons(self) -> tuple[str, ...]:
        return (self.reason,)

    @property
    def message(self) -> str:
        return self.text


@dataclass(frozen=True)
class AwaitingDocument(Event):
    """Created (Create-Job) and open for its document; also held for credentials when the gate
    said so."""

    held_reason: str = ""
    text: str = ""

    @property
    def reasons(self) -> tuple[str, ...]:
        return (INCOMING, self.held_reason) if self.held_reason else (INCOMING,)

    @property
    def message(self) -> str:
        return self.text or "Waiting for the document"


def ready(hold_until: str) -> Queued | HeldBySubmitter:
    """Where a complete job with nothing missing goes: printing, or held as its submitter
    asked."""
    return Queued() if hold_until in ("", "no-hold") else HeldBySubmitter()


# --- forwarding --------------------------------------------------------------------------


@dataclass(frozen=True)
class ForwardStarted(Event):
    printer: str
    REASONS = ("job-transforming",)

    @property
    def message(self) -> str:
        return f"Sending to {self.printer}"


@dataclass(frozen=True)
class Printing(Event):
    printer: str
    REASONS = ("job-printing",)

    @property
    def message(self) -> str:
        return f"Printing on {self.printer}"


@dataclass(frozen=True)
class PrinterStopped(Event):
    """No printer can take it now, or its printer stopped or went quiet: it waits, spooled."""

    text: str
    REASONS = ("printer-stopped",)

    @property
    def message(self) -> str:
        return self.text


# --- endings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Printed(Event):
    printer: str
    note: str = ""  # how we know, when it is not the printer's own word
    REASONS = ("job-completed-successfully",)

    @property
    def message(self) -> str:
        return f"Printed on {self.printer}" + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class CanceledAtDevice(Event):
    printer: str
    REASONS = ("job-canceled-at-device",)

    @property
    def message(self) -> str:
        return f"Canceled at {self.printer}"


@dataclass(frozen=True)
class AbortedByPrinter(Event):
    printer: str
    detail: str
    REASONS = ("job-aborted-by-system",)

    @property
    def message(self) -> str:
        return f"{self.printer} aborted the job: {self.detail}"


@dataclass(frozen=True)
class LostByPrinter(Event):
    """The printer answers but no longer knows the job (restarted, or its history cleared),
    and nothing shows that it printed: never recorded as printed, never sent again."""

    printer: str
    REASONS = ("job-aborted-by-system",)

    @property
    def message(self) -> str:
        return (
            f"{self.printer} no longer knows the job: whether it printed is unknown,"
            " so it is not charged"
        )


@dataclass(frozen=True)
class Canceled(Event):
    reason: str  # job-canceled-by-user, job-canceled-by-system, ...
    text: str

    @property
    def reasons(self) -> tuple[str, ...]:
        return (self.reason,)

    @property
    def message(self) -> str:
        return self.text


@dataclass(frozen=True)
class Aborted(Event):
    """printgate gave up on the job: no document, no printer in time, contact lost."""

    text: str
    REASONS = ("job-aborted-by-system",)

    @property
    def message(self) -> str:
        return self.text


# --- the table ---------------------------------------------------------------------------

NEW: None = None  # the "state" of a job not yet created
_H, _P = JobState.PENDING_HELD, JobState.PENDING
_R, _S = JobState.PROCESSING, JobState.PROCESSING_STOPPED
_C, _X, _A = JobState.COMPLETED, JobState.CANCELED, JobState.ABORTED
_ACTIVE = (_H, _P, _R, _S)
_FORWARDING = (_R, _S)

TABLE: dict[tuple[JobState | None, type[Event]], JobState] = {
    **{(s, Queued): _P for s in (NEW, _H)},
    **{(s, HeldBySubmitter): _H for s in (NEW, _P, _H)},
    **{(s, HeldForCredentials): _H for s in (NEW, _H)},
    **{(s, AwaitingDocument): _H for s in (NEW, _H)},
    # processing -> processing: a job found mid-forward at start-up is sent again
    **{(s, ForwardStarted): _R for s in (_P, _R, _S)},
    **{(s, Printing): _R for s in _FORWARDING},
    # pending -> processing-stopped: no printer of the group can take the job yet
    **{(s, PrinterStopped): _S for s in (_P, *_FORWARDING)},
    **{(s, Printed): _C for s in _FORWARDING},
    **{(s, CanceledAtDevice): _X for s in _FORWARDING},
    **{(s, AbortedByPrinter): _A for s in _FORWARDING},
    **{(s, LostByPrinter): _A for s in _FORWARDING},
    **{(s, Canceled): _X for s in _ACTIVE},
    **{(s, Aborted): _A for s in _ACTIVE},
}
EVENTS: tuple[type[Event], ...] = tuple(dict.fromkeys(event for _, event in TABLE))


def next_state(state: JobState | None, event: Event) -> JobState:
    """The state the event takes a job in `state` (None: not yet created) to; raises for every
    change the table does not hold."""
    target = TABLE.get((state, type(event)))
    if target is not None:
        return target
    if state in TERMINAL_STATES:
        raise JobAlreadyEnded(
            f"the job is {state.name.lower()}: {type(event).__name__} comes too late"
        )
    where = "a new job" if state is None else state.name.lower()
    raise IllegalTransition(f"{type(event).__name__} is not possible for {where}")


# What only an event may change on a job record.
EVENT_FIELDS = frozenset({"state", "reasons", "message"})

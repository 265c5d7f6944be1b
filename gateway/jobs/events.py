"""What addons hear of jobs (see gateway/hooks.py). Each event is frozen; `job` is the live
record, to be changed only through the job manager."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..ipp.enums import JobState
from .record import Job


@dataclass(frozen=True)
class JobAccepted:
    """A job was created (its document may still be to come)."""

    hook: ClassVar[str] = "job_accepted"
    job: Job


@dataclass(frozen=True)
class DocumentSpooled:
    """The job's document is complete in the spool: it can be measured."""

    hook: ClassVar[str] = "document_spooled"
    job: Job


@dataclass(frozen=True)
class JobStateChanged:
    hook: ClassVar[str] = "job_state_changed"
    job: Job
    previous: JobState | None


@dataclass(frozen=True)
class JobStarted:
    """Forwarding to `printer` is about to begin (recorded, nothing sent yet)."""

    hook: ClassVar[str] = "job_started"
    job: Job
    printer: str


@dataclass(frozen=True)
class JobEnded:
    """The job reached completed, canceled or aborted; job.state says which."""

    hook: ClassVar[str] = "job_ended"
    job: Job


@dataclass(frozen=True)
class JobMeasured:
    """Document analysis recorded its figures (or why there are none) on the job."""

    hook: ClassVar[str] = "job_measured"
    job: Job

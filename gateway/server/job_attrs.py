"""A job as IPP job attributes (Get-Job-Attributes, Get-Jobs, job-creating responses)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from ..identity.gate import AUTH_FAILED, INFO_NEEDED
from ..ipp import Attribute, JobState, Tag
from ..ipp import model as m
from ..ipp.supported import decode_template
from ..jobs.record import Job
from .queue_attrs import Origin, is_job_template

GET_JOBS_DEFAULT = frozenset({"job-id", "job-uri"})
# What CUPS' JobPrivateValues keeps from everyone but the job's owner and administrators (its
# default, less the user's name, which clients need to tell whose job it is): left out.
PRIVATE = frozenset(
    {"job-name", "document-name", "document-name-supplied", "job-originating-host-name"}
)


def job_uri(origin: Origin, queue: str, job_id: int) -> str:
    return f"{origin.ipp_scheme}://{origin.host}/ipp/print/{queue}/{job_id}"


def _state_message(job: Job, origin: Origin) -> str:
    """A job held for credentials says where to claim it: the queue's page in My printing
    (its printer-more-info), which the phone that printed it can open as it is."""
    if job.state != JobState.PENDING_HELD or not {INFO_NEEDED, AUTH_FAILED} & set(job.reasons):
        return job.message
    page = f"{origin.http_scheme}://{origin.host}/queues/{job.queue}"
    said = f"{job.message}. Claim it at {page}"
    return said.encode()[:1023].decode(errors="ignore")  # text is at most 1023 octets


def _time(name: str, when: datetime | None) -> Attribute:
    if when is None:
        return m.out_of_band(name, Tag.NO_VALUE)
    return m.integer(name, int(when.timestamp()))


def _date(name: str, when: datetime | None) -> Attribute:
    if when is None:
        return m.out_of_band(name, Tag.NO_VALUE)
    return m.date_time(name, when)


def _per_copy(j: Job, measured: int | None) -> int | None:
    """RFC 8011 5.3.17: job-impressions and job-media-sheets leave the copies out; printgate
    measures them with the copies in."""
    if measured is None or j.copies <= 1 or measured % j.copies:
        return measured
    return measured // j.copies


def _count(name: str, value: int | None) -> Attribute | None:
    return None if value is None else m.integer(name, value)


Builder = Callable[[Job, Origin, int], Attribute | None]

# Each job description attribute from the job, the client's view of the server, and the
# up-time; only the requested ones are built.
DESCRIPTION: dict[str, Builder] = {
    "job-id": lambda j, o, t: m.integer("job-id", j.id),
    "job-uri": lambda j, o, t: m.uri("job-uri", job_uri(o, j.queue, j.id)),
    "job-uuid": lambda j, o, t: m.uri("job-uuid", j.uuid),
    "job-printer-uri": lambda j, o, t: m.uri(
        "job-printer-uri", f"{o.ipp_scheme}://{o.host}/ipp/print/{j.queue}"
    ),
    "job-name": lambda j, o, t: m.name_("job-name", j.name or f"job {j.id}"),
    "job-originating-host-name": lambda j, o, t: (
        m.name_("job-originating-host-name", j.origin_host) if j.origin_host else None
    ),
    "document-name-supplied": lambda j, o, t: (
        m.name_("document-name-supplied", j.document_name) if j.document_name else None
    ),
    "job-originating-user-name": lambda j, o, t: m.name_(
        "job-originating-user-name", j.user or "anonymous"
    ),
    "job-state": lambda j, o, t: m.enum("job-state", j.state),
    "job-state-reasons": lambda j, o, t: m.keyword("job-state-reasons", *(j.reasons or ("none",))),
    "job-state-message": lambda j, o, t: m.text("job-state-message", _state_message(j, o)),
    "job-printer-up-time": lambda j, o, t: m.integer("job-printer-up-time", t),
    "time-at-creation": lambda j, o, t: _time("time-at-creation", j.created_at),
    "time-at-processing": lambda j, o, t: _time("time-at-processing", j.processing_at),
    "time-at-completed": lambda j, o, t: _time("time-at-completed", j.completed_at),
    "date-time-at-creation": lambda j, o, t: _date("date-time-at-creation", j.created_at),
    "date-time-at-processing": lambda j, o, t: _date("date-time-at-processing", j.processing_at),
    "date-time-at-completed": lambda j, o, t: _date("date-time-at-completed", j.completed_at),
    "job-k-octets": lambda j, o, t: m.integer("job-k-octets", (j.document_bytes + 1023) // 1024),
    "job-impressions": lambda j, o, t: _count(
        "job-impressions", _per_copy(j, j.measured_impressions)
    ),
    "job-media-sheets": lambda j, o, t: _count("job-media-sheets", _per_copy(j, j.measured_sheets)),
    "job-impressions-completed": lambda j, o, t: m.integer(
        "job-impressions-completed", j.impressions or 0
    ),
    "job-media-sheets-completed": lambda j, o, t: m.integer(
        "job-media-sheets-completed", j.media_sheets or 0
    ),
    "job-pages-completed": lambda j, o, t: m.integer("job-pages-completed", j.pages or 0),
    "number-of-documents": lambda j, o, t: m.integer(
        "number-of-documents", 1 if j.document_path else 0
    ),
    "document-format-supplied": lambda j, o, t: m.mime(
        "document-format-supplied", j.document_format or "application/octet-stream"
    ),
    "job-hold-until": lambda j, o, t: m.keyword("job-hold-until", j.hold_until or "no-hold"),
    "job-printer-state-message": lambda j, o, t: m.text("job-printer-state-message", j.message),
}


def job_attributes(
    job: Job,
    origin: Origin,
    up_time: int,
    requested: Iterable[str] | None,
    *,
    private: bool = False,
) -> list[Attribute]:
    """The job's attributes filtered by requested-attributes (None: all); `private`: the
    asker may not see the job's PRIVATE values."""
    names = frozenset(requested) if requested is not None else frozenset({"all"})
    every = "all" in names
    hidden = PRIVATE if private else frozenset()
    described = [
        attribute
        for name, build in DESCRIPTION.items()
        if (every or name in names or "job-description" in names) and name not in hidden
        if (attribute := build(job, origin, up_time)) is not None
    ]
    if not job.template or not (every or "job-template" in names or names - DESCRIPTION.keys()):
        return described
    # A template attribute the job describes itself (job-hold-until) is sent once, as described.
    taken = hidden | {a.name for a in described} | {"job-password"}
    template = [
        a
        for a in decode_template(job.template)
        if a.name not in taken
        and (
            every
            or a.name in names
            or ("job-template" in names and is_job_template(a.name + "-default"))
        )
    ]
    return described + template

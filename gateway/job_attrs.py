"""A job as IPP job attributes (Get-Job-Attributes, Get-Jobs, job-creating responses)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .ipp import Attribute, Tag
from .ipp import model as m
from .jobs import Job
from .printer_attrs import Origin, is_job_template
from .supported import decode_template

GET_JOBS_DEFAULT = frozenset({"job-id", "job-uri"})


def job_uri(origin: Origin, queue: str, job_id: int) -> str:
    return f"{origin.ipp_scheme}://{origin.host}/ipp/print/{queue}/{job_id}"


def _time(name: str, when: datetime | None) -> Attribute:
    if when is None:
        return m.out_of_band(name, Tag.NO_VALUE)
    return m.integer(name, int(when.timestamp()))


def _date(name: str, when: datetime | None) -> Attribute:
    if when is None:
        return m.out_of_band(name, Tag.NO_VALUE)
    return m.date_time(name, when)


def description(job: Job, origin: Origin, up_time: int) -> list[Attribute]:
    return [
        m.integer("job-id", job.id),
        m.uri("job-uri", job_uri(origin, job.queue, job.id)),
        m.uri("job-uuid", job.uuid),
        m.uri("job-printer-uri", f"{origin.ipp_scheme}://{origin.host}/ipp/print/{job.queue}"),
        m.name_("job-name", job.name or f"job {job.id}"),
        m.name_("job-originating-user-name", job.user or "anonymous"),
        m.enum("job-state", job.state),
        m.keyword("job-state-reasons", *(job.reasons or ("none",))),
        m.text("job-state-message", job.message),
        m.integer("job-printer-up-time", up_time),
        _time("time-at-creation", job.created_at),
        _time("time-at-processing", job.processing_at),
        _time("time-at-completed", job.completed_at),
        _date("date-time-at-creation", job.created_at),
        _date("date-time-at-processing", job.processing_at),
        _date("date-time-at-completed", job.completed_at),
        m.integer("job-k-octets", (job.document_bytes + 1023) // 1024),
        m.integer("job-impressions-completed", job.impressions or 0),
        m.integer("job-media-sheets-completed", job.media_sheets or 0),
        m.integer("job-pages-completed", job.pages or 0),
        m.integer("number-of-documents", 1 if job.document_path else 0),
        m.mime("document-format-supplied", job.document_format or "application/octet-stream"),
        m.keyword("job-hold-until", job.hold_until or "no-hold"),
        m.text("job-printer-state-message", job.message),
    ]


def job_attributes(
    job: Job, origin: Origin, up_time: int, requested: Iterable[str] | None
) -> list[Attribute]:
    """The job's attributes filtered by requested-attributes (None: all)."""
    names = frozenset(requested) if requested is not None else None
    described = description(job, origin, up_time)
    template = [a for a in decode_template(job.template) if a.name not in ("job-password",)]
    if names is None or "all" in names:
        return described + template
    chosen = [a for a in described if a.name in names or "job-description" in names]
    chosen += [
        a
        for a in template
        if a.name in names or ("job-template" in names and is_job_template(a.name + "-default"))
    ]
    return chosen

"""A job's page: its IPP attributes, who it is charged to, what printgate measured of its
document, the charge's breakdown, the meter check, and its way from state to state; with the
release form when it waits for credentials, cancel while it is not ended, and (administrators)
the change of a finished job's accounting fields."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.accounting import job_report
from gateway.identity.release import held_for_credentials
from gateway.ipp.enums import JobState
from gateway.ipp.model import Attribute, Collection, Range, Resolution, StringWithLanguage
from gateway.ipp.supported import decode_template
from gateway.jobs.record import Job
from gateway.server.job_feed import GROUP_OF, StateChange

from ...forms import Form
from ...i18n import gettext
from ...pages import render
from .common import account, context, feed, job_or_404
from .view import state_labels


def _value_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, StringWithLanguage):
        return value.text
    if isinstance(value, Range):
        return f"{value.lower}-{value.upper}"
    if isinstance(value, Resolution):
        return f"{value.x}x{value.y}{'dpi' if value.units == Resolution.DPI else 'dpcm'}"
    if isinstance(value, Collection):
        return "{" + " ".join(f"{m.name}={_attribute_text(m)}" for m in value) + "}"
    return str(value)


def _attribute_text(attribute: Attribute) -> str:
    return ", ".join(_value_text(v) for v in attribute.python_values())


def attributes(job: Job) -> list[tuple[str, str]]:
    """What the client sent with the job (its job template), as name and values."""
    return [(a.name, _attribute_text(a)) for a in decode_template(job.template)]


def milestones(job: Job) -> list[StateChange]:
    """The steps the job record itself dates, for jobs whose changes the feed did not see
    (before printgate's last start, or long ago)."""
    steps = [StateChange(job.created_at, JobState.PENDING, (), gettext("accepted"))]
    if job.released_at is not None:
        steps.append(StateChange(job.released_at, JobState.PENDING, (), gettext("released")))
    if job.processing_at is not None:
        steps.append(StateChange(job.processing_at, JobState.PROCESSING, (), job.printer))
    if job.completed_at is not None:
        steps.append(StateChange(job.completed_at, job.state, job.reasons, job.message))
    return steps


def category_labels() -> dict[str, str]:
    """The print categories by the names SmartTracker's reports give them."""
    return {
        "mono_lines": gettext("Mono lines"),
        "color_lines": gettext("Colour lines"),
        "low_density": gettext("Low density image"),
        "high_density": gettext("High density image"),
    }


def page_values(request: web.Request, job: Job, **extra: Any) -> dict[str, Any]:
    queue_view = context(request).queues.get(job.queue)
    seen = feed(request).history(job.id)
    # What the feed saw since printgate started, after what the record dates from before.
    history = [step for step in milestones(job) if not seen or step.at < seen[0].at] + seen
    return {
        "job": job,
        "group": GROUP_OF[job.state],
        "labels": state_labels(),
        "attributes": attributes(job),
        "measured": job_report.measured(job),
        "category_labels": category_labels(),
        "reported": job_report.reported(job),
        "charge": job_report.charged(job),
        "history": history,
        "history_is_live": bool(seen),
        "held": held_for_credentials(job),
        "queue": queue_view.queue if queue_view is not None else None,
        "is_admin": account(request).role == "admin",
        "release_form": extra.pop("release_form", Form()),
        "amend_form": extra.pop(
            "amend_form",
            Form(
                {
                    "project": job.project,
                    "department": job.department,
                    "comment": job.comment,
                    "billable": "on" if job.billable else "",
                }
            ),
        ),
        "message": extra.pop("message", request.query.get("done", "")),
        **extra,
    }


async def job_page(request: web.Request) -> web.Response:
    job = await job_or_404(request)
    return render(request, "console/jobs/job.html", **page_values(request, job))

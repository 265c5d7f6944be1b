"""The live view of jobs: one page of jobs as the filters ask (queue, user, project, department,
state, dates; the reports' "by name" pages link here), paged
by job id. The page is whole without JavaScript; jobs.js keeps it up to date from the event
stream (stream.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from aiohttp import web

from gateway.server.job_feed import STATE_GROUPS

from ...forms import Form
from ...i18n import gettext
from ...pages import render
from . import listing
from .common import context

FILTERS = ("queue", "user", "project", "department", "state", "from", "to")


def state_labels() -> dict[str, str]:
    return {
        "held": gettext("held"),
        "waiting": gettext("waiting"),
        "printing": gettext("printing"),
        "done": gettext("done"),
        "failed": gettext("failed"),
        "canceled": gettext("canceled"),
    }


def _date(form: Form, name: str) -> datetime | None:
    value = form.text(name, max_length=10)
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        form.error(name, gettext("A date such as 2025-03-31 is needed."))
        return None


def _cursor(form: Form, name: str) -> int | None:
    value = form.raw(name)
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        form.error(name, gettext("Not a page of this list."))
        return None
    return int(value)


def parse_filter(form: Form) -> listing.JobFilter:
    state = form.text("state", max_length=20)
    if state and state not in STATE_GROUPS:
        form.error("state", gettext("No such state."))
        state = ""
    since = _date(form, "from")
    until = _date(form, "to")
    if since and until and until < since:
        form.error("to", gettext("The end is before the start."))
    return listing.JobFilter(
        queue=form.text("queue", max_length=100),
        user=form.text("user", max_length=255),
        project=form.text("project", max_length=100),
        department=form.text("department", max_length=100),
        state=state,
        since=since,
        until=until + timedelta(days=1) if until else None,  # the whole last day
    )


async def jobs_page(request: web.Request) -> web.Response:
    form = Form(request.query)
    where = parse_filter(form)
    before, after = _cursor(form, "before"), _cursor(form, "after")
    if not form.ok:
        found = listing.JobPage([], None, None)
        status = 400
    else:
        found = await listing.page(context(request).store, where, before, after)
        status = 200
    kept = {
        k: form.raw(k)
        for k in ("queue", "user", "project", "department", "state", "from", "to")
        if form.raw(k)
    }
    labels = state_labels()
    return render(
        request,
        "console/jobs/list.html",
        status=status,
        form=form,
        page=found,
        queue_options=[("", gettext("every queue"))]
        + [(q, q) for q in sorted(context(request).queues)],
        states=[("", gettext("every state")), *labels.items()],
        labels=labels,
        labels_json=json.dumps(labels),
        live=before is None and after is None,  # new jobs join only the first page
        newer_url=f"?{urlencode({**kept, 'after': found.newer})}" if found.newer else "",
        older_url=f"?{urlencode({**kept, 'before': found.older})}" if found.older else "",
    )

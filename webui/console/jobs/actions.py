"""What is done to a job from its page: release a held one with the credentials it lacks (the
release desk decides, as on the public release page), cancel one not yet ended, and the
administrators' change of a finished job's accounting fields. Each answers with the job's
page: the result as a status, or the refusal beside the form."""

from __future__ import annotations

from aiohttp import web

from gateway.identity.release import Claim, ReleaseError, held_for_credentials
from gateway.jobs.record import Job
from gateway.store.audit import Actor

from ...forms import Form
from ...i18n import gettext
from ...pages import render
from ...security.guard import see_other
from .amend import Amendment, NotAmendable, amend
from .common import account, context, job_or_404, require_admin
from .detail import page_values


def _refused(request: web.Request, job: Job, status: int, **values: object) -> web.Response:
    values = page_values(request, job, **values)
    return render(request, "console/jobs/job.html", status=status, **values)


async def release(request: web.Request) -> web.Response:
    job = await job_or_404(request)
    form = Form(await request.post())
    user = form.text("user", required=True, max_length=100)
    project = form.text("project", max_length=100)
    department = form.text("department", max_length=100)
    comment = form.text("comment", max_length=1000)
    if not held_for_credentials(job):
        form.error("user", gettext("This job is not waiting for credentials."))
    if not form.ok:
        return _refused(request, job, 400, release_form=form)
    claim = Claim(
        user=user,
        password=form.values.get("password") or None,
        project=project,
        department=department,
        project_password=form.values.get("project_password") or None,
        department_password=form.values.get("department_password") or None,
        billable=bool(form.values.get("billable")),
        comment=comment,
    )
    try:
        await context(request).claim(job.id, claim)
    except ReleaseError as refusal:
        form.error("user", str(refusal))
        return _refused(request, job, 400, release_form=form)
    return see_other(f"/console/jobs/{job.id}?done=released")


async def cancel(request: web.Request) -> web.Response:
    job = await job_or_404(request)
    cancel_job = context(request).cancel_job
    if job.is_terminal or cancel_job is None:
        return _refused(request, job, 409, message=gettext("This job has already ended."))
    await cancel_job(job, account(request).username)
    return see_other(f"/console/jobs/{job.id}?done=canceled")


async def amend_job(request: web.Request) -> web.Response:
    signed = require_admin(request)
    job = await job_or_404(request)
    form = Form(await request.post())
    change = Amendment(
        billable=bool(form.values.get("billable")),
        comment=form.text("comment", max_length=1000),
        project=form.text("project", max_length=100),
        department=form.text("department", max_length=100),
    )
    if not job.is_terminal:
        form.error("project", gettext("Only a finished job's record can be changed."))
    if not form.ok:
        return _refused(request, job, 400, amend_form=form)
    try:
        await amend(context(request).store, Actor(signed.username, "console"), job.id, change)
    except NotAmendable:
        form.error("project", gettext("Only a finished job's record can be changed."))
        return _refused(request, job, 409, amend_form=form)
    return see_other(f"/console/jobs/{job.id}?done=amended")

"""My printing's page: held jobs with what they will cost, the claim that releases them, and
the person's printed jobs with this month's totals. /me/ shows every group; /queues/NAME (the
queue's printer-more-info, and the address its QR code carries) shows one.

Without sign-in a visitor sees only held jobs sent from the address they come from (the phone
that printed sees its own job, nobody else's); signed in, their own jobs too."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway.accounting.lists import Lists
from gateway.config import QueueConfig
from gateway.identity.release import Claim, ReleaseError
from gateway.jobs.record import Job

from ..forms import Form
from ..i18n import gettext
from ..security.guard import see_other
from ..security.sessions import source_address
from .common import (
    HOME,
    context,
    may_claim,
    page_url,
    qr_svg,
    render_page,
    still_listed,
    throttle,
    throttle_account,
    visible_held,
)
from .estimate import Estimate, estimate
from .people import Person, signed_person
from .remembered import DETAILS_KEY, Details, forget, remember, remembered
from .totals import Totals, month_totals

RECENT = 20


@dataclass(frozen=True)
class HeldRow:
    job: Job
    queue: QueueConfig
    estimate: Estimate
    claimable: bool
    projects: list[str]  # the queue's enabled projects to pick from (empty: type one)
    departments: list[str]


def _key(request: web.Request) -> bytes:
    return request.config_dict[DETAILS_KEY]


async def _held_rows(
    request: web.Request, person: Person | None, only: str | None
) -> list[HeldRow]:
    ctx = context(request)
    lists = Lists(ctx.store)
    rows = []
    for job in visible_held(request, person, await ctx.held_jobs()):
        view = ctx.queues.get(job.queue)
        if view is None or (only is not None and job.queue != only):
            continue
        names = {
            kind: sorted(e.name for e in await lists.entries(kind, job.queue, ("enabled",)))
            for kind in ("project", "department")
        }
        rows.append(
            HeldRow(
                job,
                view.queue,
                await estimate(ctx.store, job, view.primary.model),
                may_claim(request, person, job),
                names["project"],
                names["department"],
            )
        )
    return rows


async def _my_jobs(request: web.Request, person: Person) -> tuple[list[Job], Totals]:
    """The person's newest jobs on the queues their sign-in proved them on, and this month's
    totals there."""
    ctx = context(request)
    assert ctx.person_jobs is not None
    queues = [queue for queue in sorted(person.queues) if queue in ctx.queues]
    found: list[Job] = []
    for queue in queues:
        found += await ctx.person_jobs(queue, person.name, RECENT)
    found.sort(key=lambda j: j.id, reverse=True)
    return found[:RECENT], await month_totals(ctx.store, person.name, queues)


async def my_page(
    request: web.Request,
    only: str | None = None,
    errors: dict[int, str] | None = None,
    form: Form | None = None,
    status: int = 200,
) -> web.Response:
    person = signed_person(request)
    ctx = context(request)
    view = ctx.queues.get(only) if only is not None else None
    held = await _held_rows(request, person, only)
    mine, totals = await _my_jobs(request, person) if person is not None else ([], None)
    path = f"/queues/{only}" if only is not None else HOME
    return render_page(
        request,
        "me/home.html",
        status,
        person=person,
        queue=view.queue if view is not None else None,
        ipp_uri=f"{'ipps' if request.secure else 'ipp'}://{request.host}/ipp/print/{only}",
        page=page_url(request, path),
        qr=qr_svg(page_url(request, path)) if view is not None else "",
        here=path,
        held=held,
        mine=[j for j in mine if j.id not in {r.job.id for r in held}],
        totals=totals,
        details=remembered(request, _key(request)) or Details(),
        errors=errors or {},
        form=form,
        **{key: _job_number(request, key) for key in ("released", "canceled", "printed")},
        sign_in_queue=next((r.job.queue for r in held if not r.claimable), only or ""),
    )


def _job_number(request: web.Request, key: str) -> str:
    """A job id a redirect passed on, for its confirmation (digits only: a link can say no
    more)."""
    value = request.query.get(key, "")
    return value if value.isdigit() else ""


async def home_page(request: web.Request) -> web.Response:
    return await my_page(request)


async def queue_page(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in context(request).queues:
        raise web.HTTPNotFound(text=gettext("No such queue."))
    return await my_page(request, only=name)


async def _claimable(request: web.Request) -> tuple[Person, Job]:
    """The signed-in person and the held job of the URL they may claim; else the page says why."""
    person = signed_person(request)
    if person is None:
        raise web.HTTPSeeOther(f"/me/signin?next={HOME}")
    job_id = int(request.match_info["job_id"])
    job = next((j for j in await context(request).held_jobs() if j.id == job_id), None)
    view = context(request).queues.get(job.queue) if job is not None else None
    if job is None or view is None or not may_claim(request, person, job):
        raise web.HTTPNotFound(text=gettext("No such job is waiting for you."))
    if not await still_listed(request, person, view.queue):
        raise web.HTTPForbidden(text=gettext("You may no longer print to this group."))
    return person, job


def _back(form: Form) -> str:
    target = form.raw("back")
    return target if target.startswith(("/queues/", HOME)) and "//" not in target else HOME


async def release(request: web.Request) -> web.StreamResponse:
    person, job = await _claimable(request)
    form = Form(await request.post())
    queue = context(request).queues[job.queue].queue
    project = form.text("project", max_length=100)
    department = form.text("department", max_length=100)
    comment = form.text("comment", max_length=1000) if queue.allow_comment else ""
    billable = form.boolean("billable") if queue.allow_billable else None
    only = job.queue if _back(form).startswith("/queues/") else None
    if not form.ok:
        return await my_page(request, only, {job.id: gettext("Check the fields.")}, form, 400)
    address = source_address(request)
    wait = throttle(request).wait(throttle_account(person.name), address)
    if wait > 0:
        message = gettext(
            "Too many failed attempts. Try again in %(s)s seconds.", s=max(1, round(wait))
        )
        return await my_page(request, only, {job.id: message}, form, 429)
    claim = Claim(
        user=person.name,
        project=project,
        department=department,
        project_password=form.values.get("project_password") or None,
        department_password=form.values.get("department_password") or None,
        billable=billable,
        comment=comment,
        proven=True,
    )
    try:
        await context(request).claim(job.id, claim)
    except ReleaseError as exc:
        throttle(request).failed(throttle_account(person.name), address)
        return await my_page(request, only, {job.id: str(exc)}, form, 400)
    throttle(request).succeeded(throttle_account(person.name))
    response = see_other(f"{_back(form)}?released={job.id}")
    if form.boolean("remember"):
        details = Details(project, department, billable is not False, comment)
        remember(response, request, _key(request), details)
    else:
        forget(response)
    return response


async def cancel(request: web.Request) -> web.StreamResponse:
    person, job = await _claimable(request)
    form = Form(await request.post())
    cancel_held = context(request).cancel_held
    assert cancel_held is not None
    try:
        await cancel_held(job.id, person.name)
    except ReleaseError as exc:
        return await my_page(request, None, {job.id: str(exc)}, form, 409)
    return see_other(f"{_back(form)}?canceled={job.id}")

"""/reports/schedules/: reports mailed on a timetable. The summary, or a report by users,
projects or departments for all names or one, from a start date and time, daily, weekly or
monthly, to addresses separated by ";", as PDF and/or Excel. The service runs them
(gateway/maintenance/report_schedules.py) under their owner's scope; each run is listed here.
A bookkeeper sees and removes their own schedules; an administrator everyone's."""

from __future__ import annotations

from datetime import date, datetime, time

from aiohttp import web

from gateway.maintenance.report_schedules import (
    RECURRENCES,
    SCHEDULED_REPORTS,
    ScheduleError,
    ScheduleSpec,
    add_schedule,
    remove_schedule,
    schedules,
)
from gateway.reports.by_name import ByNameOptions
from gateway.reports.scope import ALL_PRINTERS, Target

from ...forms import Form
from ...i18n import gettext
from ...pages import render
from .common import (
    account,
    actor,
    billable_choices,
    context,
    fees_choices,
    read_query,
    scope,
    tab_names,
    target_choices,
)

PAGE = "/reports/schedules/"


def _owner_filter(request: web.Request) -> str | None:
    """Whose schedules the account manages: its own, or everyone's for an administrator."""
    who = account(request)
    return None if who.role == "admin" else who.username


async def _page(request: web.Request, form: Form | None = None, status: int = 200) -> web.Response:
    tabs = await tab_names(request, ALL_PRINTERS)
    reports = [("summary", gettext("Summary"))] + [(k, tabs[k]) for k in SCHEDULED_REPORTS[1:]]
    recurrences = {
        "daily": gettext("Daily"),
        "weekly": gettext("Weekly"),
        "monthly": gettext("Monthly"),
    }
    initial = {
        "report": request.query.get("report", "summary"),
        "recurrence": "weekly",
        "start_date": date.today().isoformat(),
        "start_time": "08:00",
        "pdf": "on",
    }
    return render(
        request,
        "console/reports/schedules.html",
        status,
        schedules=await schedules(context(request).store, _owner_filter(request)),
        new=form or Form(initial),
        reports=reports,
        report_names=dict(reports),
        recurrences=[(r, recurrences[r]) for r in RECURRENCES],
        recurrence_names=recurrences,
        targets=target_choices(request, await scope(request)),
        billables=billable_choices(),
        fees=fees_choices(),
        kind="schedules",
        tabs=tabs,
        querystring="",
        admin=account(request).role == "admin",
        saved=request.query.get("saved", ""),
    )


async def listing(request: web.Request) -> web.Response:
    return await _page(request)


def _start(form: Form) -> datetime | None:
    try:
        day = date.fromisoformat(form.raw("start_date"))
    except ValueError:
        form.error("start_date", gettext("A date such as 2025-03-31 is needed."))
        return None
    try:
        at = time.fromisoformat(form.raw("start_time"))
    except ValueError:
        form.error("start_time", gettext("A time such as 08:00 is needed."))
        return None
    return datetime.combine(day, at.replace(second=0, microsecond=0)).astimezone()


def read_spec(form: Form) -> ScheduleSpec | None:
    report = form.choice("report", SCHEDULED_REPORTS)
    name = form.text("name", max_length=255)
    starts_at = _start(form)
    recurrence = form.choice("recurrence", RECURRENCES)
    recipients = form.text("recipients", required=True, max_length=2000)
    formats = tuple(f for f in ("pdf", "xlsx") if form.boolean(f))
    # The filter's fields (target, billable, fees, taxes) read as on the report pages.
    query = read_query({k: form.raw(k) for k in ("target", "billable", "fees", "with_tax")})
    for field, message in query.form.errors.items():
        form.error(field, message)
    if not formats:
        form.error("pdf", gettext("Choose PDF, Excel or both."))
    if report == "summary" and name:
        form.error("name", gettext("The summary is for all names: leave this empty."))
    if not form.ok or starts_at is None:
        return None
    target: Target = query.target
    options: ByNameOptions = query.options
    return ScheduleSpec(report, starts_at, recurrence, recipients, formats, name, target, options)


async def add(request: web.Request) -> web.Response:
    form = Form(await request.post())
    spec = read_spec(form)
    if spec is None:
        return await _page(request, form, 400)
    who = account(request)
    try:
        await add_schedule(context(request).store, actor(request), who.username, spec)
    except ScheduleError as exc:
        field = {"starts_at": "start_date", "formats": "pdf"}.get(exc.field, exc.field)
        form.error(field, exc.message)
        return await _page(request, form, 400)
    raise web.HTTPSeeOther(PAGE + "?saved=1")


async def remove(request: web.Request) -> web.Response:
    """Remove one of the account's schedules (an administrator: anyone's); one already gone,
    or another's, changes nothing."""
    text = request.match_info["id"]
    if text.isdigit():
        await remove_schedule(
            context(request).store, actor(request), int(text), _owner_filter(request)
        )
    raise web.HTTPSeeOther(PAGE)


def register(app: web.Application) -> None:
    app.router.add_get("/schedules/", listing)
    app.router.add_post("/schedules/", add)
    app.router.add_post("/schedules/{id}/delete", remove)

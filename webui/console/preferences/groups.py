"""Preferences, Printers and groups: the groups (the queues clients print to). Create, edit
(name, description, members in failover order, authentication mode, required project and
department, the billable and comment options, which submission paths need authentication),
delete with a confirmation. The TOML's groups are shown locked (a save of one answers 409
Conflict: it is managed in printgate.toml). gateway/server/queues_live.py validates, saves
(audited) and serves each change at once; its refusals show on the form.

Members are ordered with plain form controls: each printer has a position (or none), so the
page works without JavaScript."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from gateway.config import AUTH_MODES, QueueConfig
from gateway.server.queues_live import GroupEntry, LiveQueues
from gateway.server.queues_rules import Invalid, Problem
from gateway.store.printer_setup import TOUCH_POINTS

from ...forms import Form
from ...i18n import gettext
from ...pages import render
from .common import actor, context

PAGE = "/preferences/groups"


def live(request: web.Request) -> LiveQueues:
    found = context(request).live_queues
    if found is None:
        raise web.HTTPServiceUnavailable(text="printers and groups are not served here")
    return found


def problem_text(problem: Problem) -> str:
    """A refusal of gateway/server/queues_rules.py, in the page's language."""
    detail = problem.detail
    texts = {
        "name-format": gettext(
            "Letters, digits, dots, dashes and underscores only, starting with a letter or digit."
        ),
        "name-reserved": gettext("This name is reserved."),
        "name-taken": gettext("This name is already taken."),
        "uri-scheme": gettext("The address must be ipp://, ipps://, http://, https:// or file:."),
        "uri-host": gettext("The address names no host."),
        "uri-file": gettext("A virtual printer writes inside printgate's data directory only."),
        "auth-mode": gettext("Choose one of the options."),
        "require": gettext("Only project and department can be required."),
        "touch-point": gettext("Choose one of the options."),
        "no-printer": gettext("A group needs at least one printer."),
        "unknown-printer": gettext("No such printer: %(detail)s.", detail=detail),
        "member-twice": gettext("A printer is in the group twice: %(detail)s.", detail=detail),
        "in-use": gettext(
            "Used by the groups %(detail)s: take it out of them first.", detail=detail
        ),
        "locked": gettext("Managed in printgate.toml: change it there."),
        "not-found": gettext("No such printer or group."),
        "busy": gettext(
            "%(detail)s jobs are not finished yet: try again when they are.", detail=detail
        ),
        "text": gettext("At most 255 characters, without control characters."),
        "snmp-version": gettext("Choose one of the options."),
        "snmp-user": gettext("SNMPv3 needs a user."),
        "snmp-auth": gettext("Choose one of the options."),
        "snmp-priv": gettext("Choose one of the options."),
        "snmp-priv-needs-auth": gettext("SNMPv3 privacy needs authentication too."),
        "snmp-port": gettext("Between %(a)s and %(b)s.", a=1, b=65535),
    }
    return texts.get(problem.code, str(problem))


def refused(form: Form, exc: Invalid, known: set[str]) -> str:
    """The refusals beside their fields; those of no field on the page, as one message."""
    elsewhere = []
    for field, problem in exc.by_field().items():
        if field in known:
            form.error(field, problem_text(problem))
        else:
            elsewhere.append(problem_text(problem))
    return " ".join(elsewhere)


def auth_choices() -> list[tuple[str, str]]:
    names = {
        "none": gettext("None: no authentication"),
        "username": gettext("A user name (any)"),
        "password": gettext("A user name and password"),
        "list": gettext("A user name from the group's list"),
        "list-password": gettext("A user name from the group's list, with its password"),
        "directory": gettext("The directory (LDAP or Active Directory)"),
    }
    return [(mode, names.get(mode, mode)) for mode in AUTH_MODES]


def touch_point_names() -> dict[str, str]:
    return {
        "ipp": gettext("IPP clients (computers, phones, CUPS)"),
        "web": gettext("Web print"),
        "release": gettext("The release page"),
    }


def _url(name: str) -> str:
    return f"{PAGE}/{quote(name, safe='')}"


def _entry_or_404(request: web.Request) -> GroupEntry:
    entry = live(request).group(request.match_info["queue"])
    if entry is None:
        raise web.HTTPNotFound(text="no such group")
    return entry


async def listing(request: web.Request) -> web.Response:
    origin = f"{'ipps' if request.secure else 'ipp'}://{request.host}/ipp/print/"
    return render(
        request,
        "console/preferences/groups.html",
        groups=live(request).group_entries(),
        auth_names=dict(auth_choices()),
        touch_names=touch_point_names(),
        queue_base=origin,
        saved=request.query.get("saved", ""),
        deleted=request.query.get("deleted", ""),
    )


# --- the form ---------------------------------------------------------------------------


def _values(entry: GroupEntry) -> dict[str, str]:
    group = entry.config
    values = {
        "name": group.name,
        "info": group.info,
        "location": group.location,
        "auth": group.auth,
    }
    for position, printer in enumerate(group.printers, start=1):
        values[f"pos_{printer}"] = str(position)
    for item in group.require:
        values[f"require_{item}"] = "on"
    for point in entry.touch_points:
        values[f"touch_{point}"] = "on"
    if group.allow_billable:
        values["allow_billable"] = "on"
    if group.allow_comment:
        values["allow_comment"] = "on"
    return values


def _new_values() -> dict[str, str]:
    return {"auth": "none", **{f"touch_{p}": "on" for p in TOUCH_POINTS}}


def _parse(form: Form, printers: list[str]) -> tuple[QueueConfig, tuple[str, ...]]:
    name = form.name("name")
    info = form.text("info")
    location = form.text("location")
    auth = form.choice("auth", AUTH_MODES)
    ranked = []
    for index, printer in enumerate(printers):
        raw = form.raw(f"pos_{printer}")
        if raw:
            number = form.integer(f"pos_{printer}", minimum=1, maximum=len(printers))
            if number is not None:
                ranked.append((number, index, printer))
    members = tuple(printer for _n, _i, printer in sorted(ranked))
    if not members:
        form.error("printers", gettext("A group needs at least one printer."))
    group = QueueConfig(
        name=name,
        printers=members,
        auth=auth,
        require=tuple(i for i in ("project", "department") if form.boolean(f"require_{i}")),
        allow_billable=form.boolean("allow_billable"),
        allow_comment=form.boolean("allow_comment"),
        info=info,
        location=location,
    )
    touch_points = tuple(p for p in TOUCH_POINTS if form.boolean(f"touch_{p}"))
    return group, touch_points


FIELDS = {"name", "info", "location", "auth", "printers", "require", "touch_points"}


def _render_form(
    request: web.Request,
    form: Form,
    entry: GroupEntry | None,
    error: str = "",
    status: int = 200,
) -> web.Response:
    registry = live(request)
    return render(
        request,
        "console/preferences/groups_form.html",
        status,
        form=form,
        entry=entry,
        error=error,
        printers=registry.printer_entries(),
        positions=list(range(1, len(registry.printers) + 1)),
        auth_choices=auth_choices(),
        touch_names=touch_point_names(),
        action=f"{_url(entry.name)}/edit" if entry else f"{PAGE}/new",
    )


async def new_page(request: web.Request) -> web.Response:
    return _render_form(request, Form(_new_values()), None)


async def create(request: web.Request) -> web.Response:
    registry = live(request)
    form = Form(await request.post())
    group, touch_points = _parse(form, sorted(registry.printers))
    if not form.ok:
        return _render_form(request, form, None, status=400)
    try:
        await registry.add_group(actor(request), group, touch_points)
    except Invalid as exc:
        return _render_form(request, form, None, refused(form, exc, FIELDS), 400)
    raise web.HTTPSeeOther(f"{PAGE}?saved={quote(group.name, safe='')}")


async def edit_page(request: web.Request) -> web.Response:
    entry = _entry_or_404(request)
    return _render_form(request, Form(_values(entry)), entry)


async def edit(request: web.Request) -> web.Response:
    entry = _entry_or_404(request)
    registry = live(request)
    form = Form(await request.post())
    if entry.locked:
        return _render_form(request, Form(_values(entry)), entry, status=409)
    group, touch_points = _parse(form, sorted(registry.printers))
    if not form.ok:
        return _render_form(request, form, entry, status=400)
    try:
        await registry.edit_group(actor(request), entry.name, group, touch_points)
    except Invalid as exc:
        return _render_form(request, form, entry, refused(form, exc, FIELDS), 400)
    raise web.HTTPSeeOther(f"{PAGE}?saved={quote(group.name, safe='')}")


# --- delete -------------------------------------------------------------------------------


def _render_delete(
    request: web.Request, entry: GroupEntry, error: str = "", status: int = 200
) -> web.Response:
    return render(
        request,
        "console/preferences/groups_delete.html",
        status,
        entry=entry,
        error=error,
        unfinished=context(request).queued_count(entry.name),
        action=f"{_url(entry.name)}/delete",
    )


async def delete_page(request: web.Request) -> web.Response:
    return _render_delete(request, _entry_or_404(request))


async def delete(request: web.Request) -> web.Response:
    entry = _entry_or_404(request)
    if entry.locked:
        return _render_delete(request, entry, problem_text(Problem("name", "locked")), 409)
    try:
        await live(request).delete_group(actor(request), entry.name)
    except Invalid as exc:
        message = " ".join(problem_text(p) for p in exc.problems)
        return _render_delete(request, entry, message, 400)
    raise web.HTTPSeeOther(f"{PAGE}?deleted={quote(entry.name, safe='')}")


def register(app: web.Application) -> None:
    app.router.add_get("/groups", listing)
    app.router.add_get("/groups/new", new_page)
    app.router.add_post("/groups/new", create)
    app.router.add_get("/groups/{queue}/edit", edit_page)
    app.router.add_post("/groups/{queue}/edit", edit)
    app.router.add_get("/groups/{queue}/delete", delete_page)
    app.router.add_post("/groups/{queue}/delete", delete)

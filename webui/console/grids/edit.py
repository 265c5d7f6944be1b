"""The grids' changes, for administrators: add a row, edit a row's cells, enable / disable /
remove / restore the rows ticked, rename the Projects and Departments tabs, and the group's
options. Each is a plain form that goes back to the grid as it was shown; grids.js sends the
same forms with `Accept: application/json` and gets the refusal or the stored value back,
so an inline edit stays in place. gateway/accounting/lists.py stores and audits."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web

from gateway.accounting.lists import DETAILS, STATUSES, Kind, ListError
from gateway.config import AUTH_MODES
from gateway.runtime.passwords import hash_password
from gateway.server.queues_rules import Invalid

from ...forms import EMAIL_RE
from ...i18n import gettext
from ..preferences.groups import problem_text
from .common import (
    SEGMENTS,
    actor,
    back_to_grid,
    context,
    default_labels,
    grid_url,
    kind_of,
    linked,
    lists,
    name_problem,
    queue_of,
)
from .view import render_grid, shown

DETAIL_LENGTHS = {
    "first_name": 100,
    "last_name": 100,
    "email": 255,
    "address": 255,
    "description": 255,
}
# What a tick box's action sets.
ACTIONS = {"enable": "enabled", "disable": "disabled", "remove": "removed", "restore": "enabled"}


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


async def form_of(request: web.Request) -> dict[str, Any]:
    posted = await request.post()
    values: dict[str, Any] = {}
    for key in set(posted):
        found = [v for v in posted.getall(key) if isinstance(v, str)]
        values[key] = found if key == "names" else (found[0] if found else "")
    return values


def detail_problem(field: str, value: str) -> str:
    if len(value) > DETAIL_LENGTHS[field]:
        return gettext("At most %(n)s characters.", n=DETAIL_LENGTHS[field])
    if not value.isprintable():
        return gettext("Control characters are not allowed.")
    if field == "email" and value and not EMAIL_RE.match(value):
        return gettext("This is not an e-mail address.")
    return ""


async def writable(request: web.Request, kind: Kind) -> str:
    """Why this list cannot be changed from the grid now ("" when it can)."""
    view = queue_of(request)
    if kind == "user" and view.queue.auth == "directory":
        return gettext("Using the directory, printgate users are disabled")
    links = linked(request)
    if links is not None and await links.get(kind, view.name) is not None:
        return gettext("This list is linked to a file: change the file, or unlink it.")
    return ""


async def refused(
    request: web.Request, form: dict[str, Any], errors: dict[str, str]
) -> web.Response:
    """The refusal: as JSON for grids.js, else the grid again with the errors by its cells."""
    if wants_json(request):
        return web.json_response({"ok": False, "errors": errors}, status=400)
    kind = SEGMENTS.get(request.match_info.get("kind", ""), "user")
    back = back_to_grid(str(form.get("back", "")), grid_url(queue_of(request).name, kind))
    query = dict(parse_qsl(urlsplit(back).query))
    values = {k: v for k, v in form.items() if isinstance(v, str) and "password" not in k}
    return await render_grid(request, queue_of(request), shown(query), errors, values, 400)


def done(request: web.Request, form: dict[str, Any], **answer: Any) -> web.Response:
    if wants_json(request):
        return web.json_response({"ok": True, **answer})
    kind = SEGMENTS.get(request.match_info.get("kind", ""), "user")
    back = back_to_grid(str(form.get("back", "")), grid_url(queue_of(request).name, kind))
    raise web.HTTPSeeOther(back)


async def add(request: web.Request) -> web.Response:
    kind = kind_of(request)
    queue = queue_of(request).name
    form = await form_of(request)
    closed = await writable(request, kind)
    if closed:
        return await refused(request, form, {"new-name": closed})
    name = str(form.get("name", "")).strip()
    errors = {}
    if problem := name_problem(kind, name):
        errors["new-name"] = problem
    details = {field: str(form.get(field, "")).strip() for field in DETAILS[kind]}
    for field, value in details.items():
        if problem := detail_problem(field, value):
            errors[f"new-{field}"] = problem
    if errors:
        return await refused(request, form, errors)
    password = str(form.get("password", ""))
    hashed = await asyncio.to_thread(hash_password, password) if password else None
    try:
        await lists(request).add(kind, queue, name, hashed, actor=actor(request), **details)
    except ListError:
        return await refused(request, form, {"new-name": gettext("This name is already taken.")})
    return done(request, form, name=name)


async def edit(request: web.Request) -> web.Response:
    """Change the cells sent (one from grids.js, the row's from the plain edit form)."""
    kind = kind_of(request)
    queue = queue_of(request).name
    form = await form_of(request)
    name = str(form.get("name", ""))
    closed = await writable(request, kind)
    if closed:
        return await refused(request, form, {f"edit-{name}": closed})
    values: dict[str, Any] = {}
    errors = {}
    for field in DETAILS[kind]:
        if field in form:
            value = str(form[field]).strip()
            if problem := detail_problem(field, value):
                errors[field] = problem
            values[field] = value
    if form.get("status") in STATUSES:
        values["status"] = form["status"]
    if form.get("password"):
        values["password_hash"] = await asyncio.to_thread(hash_password, str(form["password"]))
    elif form.get("clear_password") == "on":
        values["password_hash"] = None
    if errors:
        return await refused(request, form, errors)
    if await lists(request).get(kind, queue, name) is None:
        return await refused(
            request, form, {"rows": gettext("No such row: it may have been removed meanwhile.")}
        )
    await lists(request).change(kind, queue, name, actor=actor(request), **values)
    shown_values = {k: v for k, v in values.items() if k != "password_hash"}
    return done(request, form, name=name, values=shown_values)


async def set_status(request: web.Request) -> web.Response:
    kind = kind_of(request)
    queue = queue_of(request).name
    form = await form_of(request)
    closed = await writable(request, kind)
    if closed:
        return await refused(request, form, {"rows": closed})
    status = ACTIONS.get(str(form.get("action", "")))
    names = [name for name in form.get("names", []) if name]
    if status is None or not names:
        return await refused(request, form, {"rows": gettext("Tick rows, then choose an action.")})
    try:
        changed = await lists(request).set_status(kind, queue, names, status, actor=actor(request))
    except ListError:
        return await refused(
            request, form, {"rows": gettext("No such row: it may have been removed meanwhile.")}
        )
    return done(request, form, changed=changed)


async def rename_tab(request: web.Request) -> web.Response:
    queue = queue_of(request).name
    form = await form_of(request)
    tab = str(form.get("tab", ""))
    kind = SEGMENTS.get(tab) if tab in ("projects", "departments") else None
    label = str(form.get("label", ""))
    field = f"tab-{tab}"
    if kind is None:
        return await refused(request, form, {"tab": gettext("Choose one of the options.")})
    if not label.strip() or len(label.strip()) > 100 or not label.isprintable():
        return await refused(request, form, {field: gettext("From 1 to 100 characters.")})
    try:
        await lists(request).rename_tab(queue, kind, label, default_labels(), actor=actor(request))
    except ListError:
        return await refused(request, form, {field: gettext("Another tab already has this name.")})
    return done(request, form, label=" ".join(label.split()))


async def options(request: web.Request) -> web.Response:
    """The group's authentication mode, required fields, billable choice and comment."""
    view = queue_of(request)
    form = await form_of(request)
    live = context(request).live_queues
    entry = live.group(view.name) if live is not None else None
    if live is None or entry is None:
        return await refused(request, form, {"options": gettext("Not served here.")})
    if entry.locked:
        return await refused(
            request, form, {"options": gettext("Managed in printgate.toml: change it there.")}
        )
    auth = str(form.get("auth", ""))
    if auth not in AUTH_MODES:
        return await refused(request, form, {"auth": gettext("Choose one of the options.")})
    group = replace(
        entry.config,
        auth=auth,
        require=tuple(i for i in ("project", "department") if form.get(f"require_{i}") == "on"),
        allow_billable=form.get("allow_billable") == "on",
        allow_comment=form.get("allow_comment") == "on",
    )
    try:
        await live.edit_group(actor(request), view.name, group, entry.touch_points)
    except Invalid as exc:
        message = " ".join(problem_text(p) for p in exc.problems)
        return await refused(request, form, {"options": message})
    return done(request, form)

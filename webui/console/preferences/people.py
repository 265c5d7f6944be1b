"""Preferences, Permissions: the console's accounts (administrators and bookkeepers): list,
add, edit, remove with a confirmation. gateway/identity/accounts.py holds the rules (each
change audited, the last administrator neither removed nor demoted, a new password or role
ends the account's sessions); its refusals show on the form."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from gateway.identity.accounts import MIN_PASSWORD, ROLES, Account, AccountError
from gateway.maintenance.report_scopes import names_of, save_scope, shown, stored_scope
from gateway.reports.scope import Scope

from ...forms import Form
from ...i18n import gettext
from ...pages import render
from .common import account, actor, context

PAGE = "/preferences/permissions/"


def _role_choices() -> list[tuple[str, str]]:
    names = {"admin": gettext("Administrator"), "bookkeeper": gettext("Bookkeeper")}
    return [(role, names.get(role, role)) for role in ROLES]


def _url(username: str) -> str:
    return PAGE + quote(username, safe="")


async def _account_or_404(request: web.Request) -> Account:
    found = await context(request).accounts.get(request.match_info["username"])
    if found is None:
        raise web.HTTPNotFound(text="no such console account")
    return found


async def listing(request: web.Request) -> web.Response:
    return render(
        request,
        "console/preferences/people.html",
        accounts=await context(request).accounts.everyone(),
        roles=dict(_role_choices()),
        me=account(request).username,
        saved=request.query.get("saved", ""),
        removed=request.query.get("removed", ""),
    )


# --- add ----------------------------------------------------------------------------------


def _person(form: Form) -> tuple[str, str, str, str]:
    """First name, last name, e-mail and role, checked."""
    first = form.text("first_name", max_length=100)
    last = form.text("last_name", max_length=100)
    email = form.email("email", required=True)
    role = form.choice("role", ROLES)
    return first, last, email, role


async def add_page(request: web.Request) -> web.Response:
    return _render_add(request, Form({"role": "bookkeeper", "must_change": "on"}))


def _render_add(
    request: web.Request, form: Form, error: str = "", status: int = 200
) -> web.Response:
    return render(
        request,
        "console/preferences/people_add.html",
        status,
        form=form,
        error=error,
        role_choices=_role_choices(),
        min_password=MIN_PASSWORD,
    )


async def add(request: web.Request) -> web.Response:
    form = Form(await request.post())
    username = form.name("username")
    password = form.password("password", confirm="password2", minimum=MIN_PASSWORD)
    first, last, email, role = _person(form)
    if not form.ok:
        return _render_add(request, form, status=400)
    try:
        await context(request).accounts.add(
            actor(request),
            username,
            password,
            role,
            email,
            first_name=first,
            last_name=last,
            must_change_password=form.boolean("must_change"),
        )
    except AccountError as exc:
        return _render_add(request, form, str(exc), 400)
    raise web.HTTPSeeOther(f"{PAGE}?saved={quote(username, safe='')}")


# --- edit ---------------------------------------------------------------------------------


async def _render_edit(
    request: web.Request,
    person: Account,
    form: Form,
    error: str = "",
    status: int = 200,
    scope_form: Form | None = None,
) -> web.Response:
    if scope_form is None:
        limits = await stored_scope(context(request).store, person.username)
        scope_form = Form({name: shown(getattr(limits, name)) for name in SCOPE_FIELDS})
    return render(
        request,
        "console/preferences/people_edit.html",
        status,
        person=person,
        form=form,
        error=error,
        role_choices=_role_choices(),
        min_password=MIN_PASSWORD,
        action=_url(person.username) + "/edit",
        is_me=person.username == account(request).username,
        scope_form=scope_form,
        scope_action=_url(person.username) + "/scope",
        queues=sorted(context(request).queues),
        scope_saved=request.query.get("scope", ""),
    )


async def edit_page(request: web.Request) -> web.Response:
    person = await _account_or_404(request)
    values = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "role": person.role,
    }
    return await _render_edit(request, person, Form(values))


async def edit(request: web.Request) -> web.Response:
    person = await _account_or_404(request)
    form = Form(await request.post())
    first, last, email, role = _person(form)
    password = ""
    if form.values.get("password", ""):
        password = form.password("password", confirm="password2", minimum=MIN_PASSWORD)
    elif form.boolean("must_change"):
        form.error("password", gettext("Give a new password to have it changed at next sign-in."))
    if not form.ok:
        return await _render_edit(request, person, form, status=400)
    accounts, who = context(request).accounts, actor(request)
    try:
        await accounts.edit(
            who,
            person.username,
            email=email,
            first_name=first,
            last_name=last,
            role=role,
            password=password or None,
            must_change=form.boolean("must_change"),
        )
    except AccountError as exc:
        return await _render_edit(request, person, form, str(exc), 400)
    raise web.HTTPSeeOther(f"{PAGE}?saved={quote(person.username, safe='')}")


# --- report scope -------------------------------------------------------------------------

SCOPE_FIELDS = ("queues", "projects", "departments")


async def save_report_scope(request: web.Request) -> web.Response:
    """A bookkeeper's reports limited to some printer groups, projects or departments
    (empty fields: no limit there). Administrators always see everything."""
    person = await _account_or_404(request)
    form = Form(await request.post())
    texts = {name: form.text(name, max_length=5000) for name in SCOPE_FIELDS}
    unknown = sorted((names_of(texts["queues"]) or frozenset()) - set(context(request).queues))
    if unknown:
        form.error("queues", gettext("No such printer group: %(names)s", names=", ".join(unknown)))
    if person.role == "admin" and any(texts.values()):
        only = gettext("Administrators see every report: limits are for bookkeepers.")
        form.error("queues", only)
    if not form.ok:
        values = {"first_name": person.first_name, "last_name": person.last_name}
        values |= {"email": person.email, "role": person.role}
        return await _render_edit(request, person, Form(values), status=400, scope_form=form)
    limits = Scope(*(names_of(texts[name]) for name in SCOPE_FIELDS))
    await save_scope(context(request).store, actor(request), person.username, limits)
    raise web.HTTPSeeOther(_url(person.username) + "/edit?scope=saved")


# --- remove -------------------------------------------------------------------------------


def _render_remove(
    request: web.Request, person: Account, error: str = "", status: int = 200
) -> web.Response:
    return render(
        request,
        "console/preferences/people_remove.html",
        status,
        person=person,
        error=error,
        action=_url(person.username) + "/remove",
    )


async def remove_page(request: web.Request) -> web.Response:
    return _render_remove(request, await _account_or_404(request))


async def remove(request: web.Request) -> web.Response:
    person = await _account_or_404(request)
    form = Form(await request.post())
    if form.raw("confirm") != person.username:
        # Only the confirmation page's form removes (it names the account).
        return _render_remove(request, person, gettext("Confirm on this page."), 400)
    if person.username == account(request).username:
        error = gettext("You cannot remove your own account: ask another administrator.")
        return _render_remove(request, person, error, 400)
    try:
        await context(request).accounts.remove(actor(request), person.username)
    except AccountError as exc:
        return _render_remove(request, person, str(exc), 400)
    raise web.HTTPSeeOther(f"{PAGE}?removed={quote(person.username, safe='')}")


def register(app: web.Application) -> None:
    app.router.add_get("/permissions/", listing)
    app.router.add_get("/permissions/new", add_page)
    app.router.add_post("/permissions/new", add)
    app.router.add_get("/permissions/{username}/edit", edit_page)
    app.router.add_post("/permissions/{username}/edit", edit)
    app.router.add_post("/permissions/{username}/scope", save_report_scope)
    app.router.add_get("/permissions/{username}/remove", remove_page)
    app.router.add_post("/permissions/{username}/remove", remove)

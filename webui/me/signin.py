"""Signing in to My printing with print credentials: a queue's user (with the password its mode
asks for) or a directory account, checked by the gate exactly as a job's would be. With the
list modes the name is picked from the queue's list. Failures are throttled per person and per
address with the console's throttle, and never say which part was wrong."""

from __future__ import annotations

import logging

from aiohttp import web

from gateway.accounting.lists import Lists
from gateway.config import QueueConfig
from gateway.identity.gate import Decision

from ..forms import Form
from ..i18n import gettext
from ..security.guard import see_other
from ..security.sessions import source_address
from .common import HOME, context, queues_to_sign_in, render_page, throttle, throttle_account
from .people import PERSON_COOKIE, SESSIONS_KEY, set_person_cookie, signed_person

log = logging.getLogger(__name__)
PASSWORD_MODES = ("list-password", "password", "directory")
LIST_MODES = ("list", "list-password")


def safe_next(value: str) -> str:
    """Only My printing's own pages (a queue's page is one)."""
    if value.startswith((HOME, "/queues/")) and "//" not in value and "\\" not in value:
        return value
    return HOME


async def _names(request: web.Request, queue: QueueConfig) -> list[str]:
    """The names to pick from, in the list modes."""
    if queue.auth not in LIST_MODES:
        return []
    entries = await Lists(context(request).store).entries("user", queue.name, ("enabled",))
    return sorted(entry.name for entry in entries)


def _chosen(request: web.Request, name: str) -> QueueConfig | None:
    queues = queues_to_sign_in(request)
    return next((q for q in queues if q.name == name), queues[0] if len(queues) == 1 else None)


async def signin_page(
    request: web.Request, form: Form | None = None, message: str = "", status: int = 200
) -> web.Response:
    values = form.values if form is not None else dict(request.query)
    queue = _chosen(request, values.get("queue", ""))
    return render_page(
        request,
        "me/signin.html",
        status,
        form=form or Form({"next": values.get("next", ""), "queue": values.get("queue", "")}),
        message=message,
        queues=queues_to_sign_in(request),
        queue=queue,
        names=await _names(request, queue) if queue is not None else [],
        needs_password=queue is not None and queue.auth in PASSWORD_MODES,
        next=safe_next(values.get("next", HOME)),
    )


async def _scope(
    request: web.Request, chosen: QueueConfig, proved: Decision, password: str | None
) -> frozenset[str]:
    """The queues whose own check the credentials that passed on `chosen` pass too, as the
    same person: the session's reach. The directory is asked at most once more."""
    identify = context(request).identify
    assert identify is not None
    found = {chosen.name}
    directory = proved if chosen.auth == "directory" else None
    for queue in queues_to_sign_in(request):
        if queue.name == chosen.name:
            continue
        if queue.auth == "directory":
            directory = directory or await identify(queue, proved.user, password)
            decision = directory
        else:
            decision = await identify(queue, proved.user, password)
        if decision.accepted and decision.user == proved.user:
            found.add(queue.name)
    return frozenset(found)


async def signin(request: web.Request) -> web.StreamResponse:
    form = Form(await request.post())
    queue = _chosen(request, form.raw("queue"))
    name = form.text("name", required=True, max_length=100)
    password = form.values.get("password", "")
    if queue is None:
        form.error("queue", gettext("Choose one of the options."))
    elif queue.auth in PASSWORD_MODES and not password:
        form.error("password", gettext("This field is required."))
    if not form.ok or queue is None:
        return await signin_page(request, form, gettext("Enter your user name and password."), 400)
    address = source_address(request)
    wait = throttle(request).wait(throttle_account(name), address)
    if wait > 0:
        message = gettext(
            "Too many failed attempts. Try again in %(s)s seconds.", s=max(1, round(wait))
        )
        return await signin_page(request, form, message, 429)
    identify = context(request).identify
    assert identify is not None
    secret = password if queue.auth in PASSWORD_MODES else None
    proved = await identify(queue, name, secret)
    if not proved.accepted:
        if proved.unknown:  # the store or the directory is down: no guess was judged
            message = gettext("Your credentials cannot be checked now. Try again in a moment.")
            return await signin_page(request, form, message, 503)
        throttle(request).failed(throttle_account(name), address)
        message = gettext("The user name or the password is wrong.")
        return await signin_page(request, form, message, 401)
    throttle(request).succeeded(throttle_account(name))
    person = proved.user
    queues = await _scope(request, queue, proved, secret)
    token = request.config_dict[SESSIONS_KEY].open(person, queues)
    log.info("My printing sign-in: %s from %s (%s)", person, address, ", ".join(sorted(queues)))
    response = see_other(safe_next(form.raw("next")))
    set_person_cookie(response, request, token)
    return response


async def signout(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(PERSON_COOKIE, "")
    if token and signed_person(request) is not None:
        request.config_dict[SESSIONS_KEY].end(token)
    response = see_other(HOME)
    response.del_cookie(PERSON_COOKIE, path="/")
    return response

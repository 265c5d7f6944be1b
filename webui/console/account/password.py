"""Changing one's own password, and the change forced at the first sign-in (the guard sends
an account that must change it here whatever it asks for).

The current password is asked even right after signing in: a session left open must not be
enough to take the account over. Wrong current passwords count in the sign-in throttle. The
change keeps this session and ends every other one of the account."""

from __future__ import annotations

from aiohttp import web

from ...context import CONTEXT_KEY
from ...forms import Form
from ...i18n import gettext
from ...pages import render
from ...security.sessions import HOME, source_address
from ...security.signin import THROTTLE_KEY
from .profile import actor, signed

TEMPLATE = "console/account/password.html"


async def password_page(request: web.Request) -> web.Response:
    return render(request, TEMPLATE, form=Form(), message="")


async def change_password(request: web.Request) -> web.StreamResponse:
    session = signed(request)
    account = session.account
    context = request.config_dict[CONTEXT_KEY]
    throttle = request.config_dict[THROTTLE_KEY]
    address = source_address(request)
    form = Form(await request.post())
    current = form.values.get("current", "")
    new = form.password("password", confirm="confirm")
    if not current:
        form.error("current", gettext("This field is required."))
    elif form.ok and new == current:
        form.error("password", gettext("Choose a password other than the current one."))
    if not form.ok:
        return render(request, TEMPLATE, 400, form=form, message="")
    wait = throttle.wait(account.username, address)
    if wait > 0:
        message = gettext(
            "Too many failed attempts. Try again in %(s)s seconds.", s=max(1, round(wait))
        )
        return render(request, TEMPLATE, 429, form=form, message=message)
    if await context.accounts.check_password(account.username, current) is None:
        throttle.failed(account.username, address)
        form.error("current", gettext("This is not your current password."))
        return render(request, TEMPLATE, 400, form=form, message="")
    throttle.succeeded(account.username)
    await context.accounts.set_password(
        actor(request), account.username, new, keep_session=session.token_hash
    )
    # The first change leads on to the console (through the second factor's enrolment
    # when the configuration asks administrators for one: the guard sees to that).
    raise web.HTTPSeeOther(HOME if account.must_change_password else "/account/?saved=password")

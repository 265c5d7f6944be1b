"""Signing in and out of the console.

The message for a failed sign-in never says whether the name or the password was wrong, and
an unknown name costs the same time as a wrong password. Throttled attempts are refused with
the time to wait, before any password is checked. A session ends for good at sign-out."""

from __future__ import annotations

import logging

from aiohttp import web

from ..context import CONTEXT_KEY
from ..forms import Form
from ..i18n import gettext
from ..pages import render
from .guard import SESSION_COOKIE, see_other, signed_in
from .sessions import HOME, open_session, safe_next, source_address
from .throttle import Throttle
from .totp import second_factor_step

log = logging.getLogger(__name__)
THROTTLE_KEY = web.AppKey("signin-throttle", Throttle)


async def signin_page(request: web.Request) -> web.StreamResponse:
    if signed_in(request) is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next", HOME)))
    form = Form({"next": request.query.get("next", "")})
    return render(request, "security/signin.html", form=form, message="")


async def signin(request: web.Request) -> web.StreamResponse:
    context = request.config_dict[CONTEXT_KEY]
    throttle = request.config_dict[THROTTLE_KEY]
    form = Form(await request.post())
    username = form.text("username", required=True, max_length=100)
    password = form.values.get("password", "")
    address = source_address(request)
    if not form.ok or not password:
        message = gettext("Enter your user name and password.")
        return render(request, "security/signin.html", 400, form=form, message=message)
    wait = throttle.wait(username, address)
    if wait > 0:
        message = gettext(
            "Too many failed attempts. Try again in %(s)s seconds.", s=max(1, round(wait))
        )
        return render(request, "security/signin.html", 429, form=form, message=message)
    account = await context.accounts.check_password(username, password)
    if account is None:
        throttle.failed(username, address)
        message = gettext("The user name or the password is wrong.")
        return render(request, "security/signin.html", 401, form=form, message=message)
    throttle.succeeded(username)
    if account.totp_secret:
        return await second_factor_step(request, account, safe_next(form.raw("next")))
    return await open_session(request, account, safe_next(form.raw("next")))


async def signout(request: web.Request) -> web.StreamResponse:
    signed = signed_in(request)
    if signed is not None:
        await request.config_dict[CONTEXT_KEY].accounts.end_session(signed.token_hash)
    response = see_other("/signin")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def setup(app: web.Application) -> None:
    app[THROTTLE_KEY] = Throttle()
    app.router.add_get("/signin", signin_page)
    app.router.add_post("/signin", signin)
    app.router.add_post("/signout", signout)

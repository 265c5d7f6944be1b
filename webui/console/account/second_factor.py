"""Enrolling a second factor (and turning it off).

The secret is made here and kept in memory for this session until a code from the phone
proves the phone has it: only then is it saved, so a scan that failed cannot lock the account
out. The page shows the otpauth:// address, the secret as text (for apps that cannot scan)
and a QR code, drawn in SVG by `segno` as a data: address (the CSP allows images from data:,
and the guard lets an administrator who must enrol reach this one page only). Turning it off
asks for the password; an administrator cannot turn it off where the configuration requires
it."""

from __future__ import annotations

import segno
from aiohttp import web

from ...context import CONTEXT_KEY
from ...forms import Form
from ...i18n import gettext
from ...pages import render
from ...security.sessions import HOME, source_address
from ...security.signin import THROTTLE_KEY
from ...security.totp import SECOND_FACTORS_KEY, provisioning_uri
from .profile import actor, signed

TEMPLATE = "console/account/totp.html"


def _required(request: web.Request) -> bool:
    config = request.config_dict[CONTEXT_KEY].config
    return signed(request).account.is_admin and config.web.require_totp_for_admins


def qr_data_uri(text: str) -> str:
    return str(segno.make(text, error="m").svg_data_uri(scale=5, border=4))


async def enrolment_page(
    request: web.Request, form: Form | None = None, status: int = 200, message: str = ""
) -> web.Response:
    session = signed(request)
    account = session.account
    values: dict[str, object] = {"uri": "", "secret": "", "qr": ""}
    if not account.totp_secret:
        secret = request.config_dict[SECOND_FACTORS_KEY].enrolment_secret(session.token_hash)
        uri = provisioning_uri(account, secret)
        values = {"uri": uri, "secret": secret, "qr": qr_data_uri(uri)}
    return render(
        request,
        TEMPLATE,
        status,
        form=form or Form(),
        message=message,
        required=_required(request),
        **values,
    )


async def confirm_enrolment(request: web.Request) -> web.StreamResponse:
    session = signed(request)
    account = session.account
    if account.totp_secret:
        raise web.HTTPSeeOther("/account/totp")
    factors = request.config_dict[SECOND_FACTORS_KEY]
    form = Form(await request.post())
    secret = factors.enrolment_secret(session.token_hash)
    if not factors.accept(account.username, secret, form.raw("code")):
        form.error("code", gettext("This code is wrong. Enter the code the app shows now."))
        return await enrolment_page(request, form, 400)
    await request.config_dict[CONTEXT_KEY].accounts.set_totp(
        actor(request), account.username, secret
    )
    factors.end_enrolment(session.token_hash)
    raise web.HTTPSeeOther(HOME if _required(request) else "/account/?saved=totp-on")


async def disable(request: web.Request) -> web.StreamResponse:
    account = signed(request).account
    context = request.config_dict[CONTEXT_KEY]
    throttle = request.config_dict[THROTTLE_KEY]
    address = source_address(request)
    form = Form(await request.post())
    if not account.totp_secret:
        raise web.HTTPSeeOther("/account/totp")
    if _required(request):
        message = gettext("Administrators must keep a second factor on this server.")
        return await enrolment_page(request, form, 400, message)
    wait = throttle.wait(account.username, address)
    if wait > 0:
        message = gettext(
            "Too many failed attempts. Try again in %(s)s seconds.", s=max(1, round(wait))
        )
        return await enrolment_page(request, form, 429, message)
    password = form.values.get("password", "")
    if not password or await context.accounts.check_password(account.username, password) is None:
        throttle.failed(account.username, address)
        form.error("password", gettext("This is not your current password."))
        return await enrolment_page(request, form, 400)
    throttle.succeeded(account.username)
    await context.accounts.set_totp(actor(request), account.username, "")
    raise web.HTTPSeeOther("/account/?saved=totp-off")

"""The account's own page: who it is, its second factor's state, and its language."""

from __future__ import annotations

from aiohttp import web

from gateway.identity.accounts import SignedIn
from gateway.store.audit import Actor

from ... import i18n
from ...context import CONTEXT_KEY
from ...forms import Form
from ...pages import render
from ...security.guard import signed_in

# What a redirect after a save may ask the page to confirm (never text from the address).
SAVED = ("password", "language", "totp-on", "totp-off")


def signed(request: web.Request) -> SignedIn:
    """The session: the area's role check has let only signed-in accounts through."""
    value = signed_in(request)
    if value is None:
        raise web.HTTPSeeOther("/signin")
    return value


def actor(request: web.Request) -> Actor:
    return Actor(signed(request).account.username, "console")


async def overview(
    request: web.Request, form: Form | None = None, status: int = 200
) -> web.Response:
    account = signed(request).account
    saved = request.query.get("saved", "")
    return render(
        request,
        "console/account/index.html",
        status,
        form=form or Form({"language": account.language or i18n.current_language()}),
        saved=saved if saved in SAVED else "",
        language_options=list(i18n.LANGUAGES.items()),
    )


async def choose_language(request: web.Request) -> web.StreamResponse:
    form = Form(await request.post())
    language = form.choice("language", i18n.LANGUAGES)
    if not form.ok:
        return await overview(request, form, 400)
    context = request.config_dict[CONTEXT_KEY]
    await context.accounts.set_language(actor(request), signed(request).account.username, language)
    raise web.HTTPSeeOther("/account/?saved=language")

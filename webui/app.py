"""The web UI, attached to printgate's aiohttp application through the `printgate.web` entry
point (gateway never imports webui). Wiring only: the security middleware and headers, the
public pages (sign-in, My printing), and one sub-application per console area, each with
its role check (security/areas.py). The handlers see the gateway only through the WebContext
that setup builds once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from aiohttp import web

from gateway.config import Config
from gateway.server.app import OPERATIONS_KEY
from gateway.server.operations import Gateway

from . import i18n, me
from .console import account as account_area
from .console import audit, overview, preferences, reports
from .context import CONTEXT_KEY, from_gateway
from .security import headers, recovery, signin, totp
from .security.guard import NOT_WEB, Handler, guard, signed_in

# The areas under their prefixes. A route outside them is public: PUBLIC_ROUTES lists them
# all, and tests/test_console_routes.py checks every route's answer for every role.
AREAS = {"/console": overview.make, "/account": account_area.make}
AREAS["/preferences"] = preferences.make
AREAS["/audit"] = audit.make
AREAS["/reports"] = reports.make
PUBLIC_ROUTES = (
    "/",
    "/signin",
    "/signout",
    *me.ROUTES,
    "/static",
    "/signin/totp",
    "/forgot",
    "/reset/{token}",
)


def setup(app: web.Application, gateway: Gateway, config: Config) -> None:
    """The `printgate.web` entry point: service.py calls it with its aiohttp application."""
    context = from_gateway(gateway, config)
    if OPERATIONS_KEY in app:  # web print goes through the IPP endpoint's own operations
        context = replace(context, handle_ipp=app[OPERATIONS_KEY].handle)
    app[CONTEXT_KEY] = context
    app.middlewares.append(guard)  # first: the language follows the signed-in account
    app.middlewares.append(language)
    headers.setup(app)
    signin.setup(app)
    totp.setup(app)
    recovery.setup(app)
    app.router.add_get("/", home)
    me.setup(app, config)
    app.router.add_static("/static", Path(__file__).parent / "static")
    for prefix, make in AREAS.items():
        app.add_subapp(prefix, make())
    app.on_startup.append(preferences.apply_saved_settings)


@web.middleware
async def language(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pages speak the account's language, else the console's (Preferences, Options), else
    the browser's first known one. IPP and the other machine routes speak no language here."""
    if request.path.startswith(NOT_WEB):
        return await handler(request)
    signed = signed_in(request)
    chosen = signed.account.language if signed is not None else ""
    if not chosen:
        chosen = await request.config_dict[CONTEXT_KEY].settings.language()
    if not chosen:
        accepted = request.headers.get("Accept-Language", "")
        chosen = next(
            (
                tag.split(";")[0].strip()[:2].lower()
                for tag in accepted.split(",")
                if tag.split(";")[0].strip()[:2].lower() in i18n.LANGUAGES
            ),
            i18n.DEFAULT_LANGUAGE,
        )
    i18n.use(chosen)
    return await handler(request)


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/console/" if signed_in(request) else "/signin")

"""The web UI, attached to printgate's aiohttp application through the `printgate.web` entry
point (gateway never imports webui). Wiring only: the security middleware and headers, the
public pages (sign-in, the release page), and one sub-application per console area, each with
its role check (security/areas.py). The handlers see the gateway only through the WebContext
that setup builds once."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from gateway.config import Config
from gateway.identity.release import Claim, ReleaseError
from gateway.server.operations import Gateway

from . import i18n
from .console import account as account_area
from .console import audit, overview, preferences, reports
from .context import CONTEXT_KEY, from_gateway
from .pages import render
from .security import headers, recovery, signin, totp
from .security.guard import Handler, guard, signed_in
from .security.sessions import source_address

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
    "/release",
    "/release/{job_id}",
    "/static",
    "/signin/totp",
    "/forgot",
    "/reset/{token}",
)


def setup(app: web.Application, gateway: Gateway, config: Config) -> None:
    """The `printgate.web` entry point: service.py calls it with its aiohttp application."""
    app[CONTEXT_KEY] = from_gateway(gateway, config)
    app.middlewares.append(guard)  # first: the language follows the signed-in account
    app.middlewares.append(language)
    headers.setup(app)
    signin.setup(app)
    totp.setup(app)
    recovery.setup(app)
    app.router.add_get("/", home)
    app.router.add_get("/release", release_page)
    app.router.add_post("/release/{job_id:\\d+}", release_claim)
    app.router.add_static("/static", Path(__file__).parent / "static")
    for prefix, make in AREAS.items():
        app.add_subapp(prefix, make())
    app.on_startup.append(preferences.apply_saved_settings)


@web.middleware
async def language(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pages speak the account's language, else the console's (Preferences, Options), else
    the browser's first known one."""
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


async def release_page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    """Held jobs (phones and other clients that cannot authenticate end up here), each with a
    form to claim it: credentials, project, department and, where the queue allows, the
    billable choice and a comment."""
    context = request.config_dict[CONTEXT_KEY]
    held = await context.held_jobs()
    queues = {name: view.queue for name, view in context.queues.items()}
    return render(
        request,
        "release.html",
        status,
        jobs=held,
        queues=queues,
        error=error,
        released=request.query.get("released", ""),
    )


async def release_claim(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT_KEY]
    form = await request.post()

    def field(name: str) -> str:
        value = form.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    claim = Claim(
        user=field("user"),
        password=field("password") or None,
        project=field("project"),
        department=field("department"),
        project_password=field("project_password") or None,
        department_password=field("department_password") or None,
        billable=field("billable") == "on" if "billable_offered" in form else None,
        comment=field("comment"),
    )
    job_id = int(request.match_info["job_id"])
    # Claims carry passwords: refused ones are throttled like console sign-ins.
    throttle = request.config_dict[signin.THROTTLE_KEY]
    address = source_address(request)
    wait = throttle.wait(f"release:{claim.user}", address)
    if wait > 0:
        error = i18n.gettext(
            "Too many failed attempts. Try again in %(s)s seconds.", s=max(1, round(wait))
        )
        return await release_page(request, error=error, status=429)
    try:
        await context.claim(job_id, claim)
    except ReleaseError as exc:
        throttle.failed(f"release:{claim.user}", address)
        return await release_page(request, error=f"Job {job_id}: {exc}", status=400)
    throttle.succeeded(f"release:{claim.user}")
    raise web.HTTPSeeOther(f"/release?released={job_id}")

"""My printing: the area of people who print (webui/me/). Its pages are public routes of the
web UI (no console role opens or closes them): each checks its own session of a person who
prints, which the console never accepts, and shows an anonymous visitor only the held jobs of
the address they come from."""

from __future__ import annotations

from aiohttp import web

from gateway.config import Config

from . import jobs, printing, signin
from .people import SESSIONS_KEY, PrintSessions
from .remembered import DETAILS_KEY, cookie_key

ROUTES = (
    "/me/",
    "/me/signin",
    "/me/signout",
    "/me/print",
    "/me/jobs/{job_id}/release",
    "/me/jobs/{job_id}/cancel",
    "/queues/{name}",
    "/me",
    "/release",
)


def setup(app: web.Application, config: Config) -> None:
    web_config = config.web
    app[SESSIONS_KEY] = PrintSessions(
        idle=web_config.session_idle_minutes * 60.0,
        lifetime=web_config.session_lifetime_hours * 3600.0,
    )
    app[DETAILS_KEY] = cookie_key(config.server.data_dir)
    app.router.add_get("/me/", jobs.home_page)
    app.router.add_get("/me/signin", signin.signin_page)
    app.router.add_post("/me/signin", signin.signin)
    app.router.add_post("/me/signout", signin.signout)
    app.router.add_get("/me/print", printing.print_page)
    app.router.add_post("/me/print", printing.submit)
    app.router.add_post("/me/jobs/{job_id:\\d+}/release", jobs.release)
    app.router.add_post("/me/jobs/{job_id:\\d+}/cancel", jobs.cancel)
    app.router.add_get("/queues/{name}", jobs.queue_page)
    app.router.add_get("/me", to_home)
    app.router.add_get("/release", to_home)  # the old public page's address, in bookmarks


async def to_home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/me/")

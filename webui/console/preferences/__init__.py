"""/preferences/: the administrator's Preferences (SmartTracker's panel, in a browser), one
area for administrators only. Each panel registers its routes on the area and has a line in
PANELS: (its path under /preferences, its title's msgid, its register function), in the order
the index page lists them. A new panel appends its line here (and its import); its routes,
templates and messages stay its own."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from gateway.runtime.console_settings import log_overrides

from ...context import CONTEXT_KEY
from ...i18n import gettext
from ...pages import render
from ...security.areas import ADMIN, area
from . import connectivity, database, options, people, printers, rates, support
from .directory import apply_saved_directory

PANELS: list[tuple[str, str, Callable[[web.Application], None]]] = [
    ("/connectivity", "Connectivity", connectivity.register),
    ("/permissions/", "Permissions", people.register),
    ("/options", "Options", options.register),
    ("/rates", "Costs and prices", rates.register),
    ("/database", "Database", database.register),
    ("/support", "Support and about", support.register),
    ("/printers", "Printers and groups", printers.register),
]


async def index(request: web.Request) -> web.Response:
    panels = [(f"/preferences{path}", gettext(title)) for path, title, _register in PANELS]
    return render(request, "console/preferences/index.html", panels=panels)


def make() -> web.Application:
    app = area("preferences", ADMIN)
    app.router.add_get("/", index)
    for _path, _title, register in PANELS:
        register(app)
    return app


async def apply_saved_settings(app: web.Application) -> None:
    """At start-up (the main application's on_startup): the gate checks "directory" queues
    with the directory saved in the console, if one was."""
    context = app[CONTEXT_KEY]
    await log_overrides(context.settings)
    await apply_saved_directory(context)

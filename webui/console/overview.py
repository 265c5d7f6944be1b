"""/console/: what every console account sees first: the queues with their state and recent
jobs, and the fleet read over SNMP."""

from __future__ import annotations

import time

from aiohttp import web

from gateway.server.queue_attrs import Origin

from ..context import CONTEXT_KEY
from ..i18n import gettext
from ..pages import render
from ..security.areas import EVERY_ROLE, area
from . import fleet, jobs

RECENT_JOBS = 50


def _origin(request: web.Request) -> Origin:
    return Origin(host=request.host, secure=request.secure)


async def queues_page(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT_KEY]
    origin = _origin(request)
    queues = []
    for view in context.queues.values():
        state, _reasons, message = view.state()
        queues.append(
            {
                "name": view.name,
                "info": view.queue.info,
                "uri": f"{origin.ipp_scheme}://{origin.host}/ipp/print/{view.name}",
                "state": state.name.lower(),
                "state_enum": state,
                "message": message,
                "jobs": context.queued_count(view.name),
                "printers": [(p.name, p.up, p.last_error) for p in view.printers],
            }
        )
    return render(request, "console/queues.html", queues=queues)


async def queue_page(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT_KEY]
    view = context.queues.get(request.match_info["name"])
    if view is None:
        raise web.HTTPNotFound(text=gettext("No such queue."))
    jobs = await context.recent_jobs(view.name, RECENT_JOBS)
    origin = _origin(request)
    return render(
        request,
        "console/queue.html",
        queue=view,
        uri=f"{origin.ipp_scheme}://{origin.host}/ipp/print/{view.name}",
        state=view.state(),
        jobs=jobs,
        now=time.time(),
    )


def make() -> web.Application:
    app = area("overview", EVERY_ROLE)
    app.router.add_get("/", queues_page)
    app.router.add_get("/queues/{name}", queue_page)
    jobs.add_routes(app)
    fleet.add_routes(app)
    return app

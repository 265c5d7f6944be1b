"""/console/: what every console account sees first: the queues with their state, each
queue's grids of users, projects and departments (grids/), and the fleet read over SNMP."""

from __future__ import annotations

from aiohttp import web

from gateway.server.queue_attrs import Origin

from ..context import CONTEXT_KEY
from ..pages import render
from ..security.areas import EVERY_ROLE, area
from . import fleet, grids, jobs


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


def make() -> web.Application:
    app = area("overview", EVERY_ROLE)
    app.router.add_get("/", queues_page)
    grids.add_routes(app)
    jobs.add_routes(app)
    fleet.add_routes(app)
    return app

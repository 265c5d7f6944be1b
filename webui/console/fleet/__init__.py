"""/console/fleet: the printers read over SNMP."""

from __future__ import annotations

from aiohttp import web

from ...context import CONTEXT_KEY
from ...pages import render


async def fleet_page(request: web.Request) -> web.Response:
    """The printers read over SNMP: latest meters and supplies (new and stale highlighted as
    in the mailed report), and the alert episodes still open."""
    fleet = await request.config_dict[CONTEXT_KEY].fleet()
    return render(request, "console/fleet.html", rows=fleet.rows, alerts=fleet.alerts)


def add_routes(app: web.Application) -> None:
    """Into the overview area (both roles)."""
    app.router.add_get("/fleet", fleet_page)

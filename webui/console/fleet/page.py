"""The fleet page: the printers read over SNMP (latest meters and supplies, new and stale
highlighted as in the mailed report), the alert episodes still open, the fleet's schedules and
the report's recipients, and for administrators the forms to change those, add a device, scan
a segment and send the meter report now."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.snmp import fleet_settings

from ...context import CONTEXT_KEY
from ...forms import Form
from ...pages import render
from ...security.guard import signed_in


async def fleet_response(request: web.Request, status: int = 200, **values: Any) -> web.Response:
    context = request.config_dict[CONTEXT_KEY]
    fleet = await context.fleet()
    settings = await fleet_settings.in_force(context.config.snmp, context.store)
    signed = signed_in(request)
    return render(
        request,
        "console/fleet.html",
        status=status,
        rows=fleet.rows,
        alerts=fleet.alerts,
        is_admin=signed is not None and signed.account.role == "admin",
        done=request.query.get("done", ""),
        query=request.query,
        add_form=values.pop("add_form", Form()),
        scan_form=values.pop("scan_form", Form()),
        report_error=values.pop("report_error", ""),
        settings=settings,
        settings_form=values.pop("settings_form", Form(settings.as_text())),
        **values,
    )


async def fleet_page(request: web.Request) -> web.Response:
    return await fleet_response(request)

"""/console/fleet: the printers read over SNMP, each device's page, and the administrators'
fleet actions."""

from __future__ import annotations

from aiohttp import web

from . import actions, device, page


def add_routes(app: web.Application) -> None:
    """Into the overview area (both roles; the actions check for an administrator)."""
    app.router.add_get("/fleet", page.fleet_page)
    app.router.add_get(r"/fleet/{device_id:\d+}", device.device_page)
    app.router.add_post("/fleet/devices", actions.add_device)
    app.router.add_post("/fleet/scan", actions.scan)
    app.router.add_post("/fleet/report", actions.send_report)
    app.router.add_post("/fleet/settings", actions.save_settings)

"""The queue grids (SmartTracker's home screen): a group's users, projects and departments.

Every console role sees the grids and exports them (under /console/queues/, the overview
area); the changes are an administrators' area of their own, /console/grids/, whose role
check runs before any of its handlers."""

from __future__ import annotations

from aiohttp import web

from ...security.areas import ADMIN, area
from . import edit, transfer, view


def add_routes(overview: web.Application) -> None:
    overview.router.add_get("/queues/{queue}", view.queue_page)
    overview.router.add_get("/queues/{queue}/export/{kind}", transfer.export)
    overview.add_subapp("/grids", _changes())


def _changes() -> web.Application:
    app = area("grids", ADMIN)
    app.router.add_post("/{queue}/{kind}/add", edit.add)
    app.router.add_post("/{queue}/{kind}/edit", edit.edit)
    app.router.add_post("/{queue}/{kind}/status", edit.set_status)
    app.router.add_get("/{queue}/{kind}/import", transfer.upload_page)
    app.router.add_post("/{queue}/{kind}/import", transfer.upload)
    app.router.add_post("/{queue}/{kind}/import/map", transfer.mapped)
    app.router.add_post("/{queue}/{kind}/link", transfer.link)
    app.router.add_post("/{queue}/{kind}/unlink", transfer.unlink)
    app.router.add_post("/{queue}/tabs", edit.rename_tab)
    app.router.add_post("/{queue}/options", edit.options)
    return app

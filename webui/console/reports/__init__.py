"""/reports/: the bookkeepers' and administrators' reports. The Summary, the reports by users,
projects and departments, reconciliation, downloads and mail (each under the signed-in
account's scope), custom reports and custom raw data saved per account, and schedules."""

from __future__ import annotations

from aiohttp import web

from ...security.areas import EVERY_ROLE, area
from . import custom, files, raw_data, schedules
from .by_name import by_name_page
from .reconciliation import reconciliation_page
from .summary import summary_page


def make() -> web.Application:
    app = area("reports", EVERY_ROLE)
    app.router.add_get("/", summary_page)
    app.router.add_get("/reconciliation", reconciliation_page)
    app.router.add_get("/download/{kind}.{format}", files.download)
    app.router.add_post("/mail/{kind}", files.mail_now)
    custom.register(app)
    raw_data.register(app)
    schedules.register(app)
    app.router.add_get("/{kind:users|projects|departments}", by_name_page)
    return app

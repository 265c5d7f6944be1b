"""/reports/users, /reports/projects, /reports/departments: billable jobs, non-billable ones or
both, by cost or by price, with or without tax; the pie of the top names and "Others", the
tables "totals by name" and "print by name", paged; each name opens its jobs in the console's
jobs list."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from gateway.reports.by_name import DIMENSIONS, by_name
from gateway.reports.documents import by_name_charts, by_name_document

from ...pages import render
from .common import BY_NAME, context, page_number, read_query, scope
from .shared import inline_charts, page_values

PAGE_SIZE = 25


def jobs_link(dimension: str, name: str, query_from: str, query_to: str) -> str:
    """The console's jobs list filtered on one name over the report's period."""
    return "/console/jobs?" + urlencode({dimension: name, "from": query_from, "to": query_to})


async def by_name_page(request: web.Request) -> web.Response:
    kind = request.match_info["kind"]
    if kind not in BY_NAME:
        raise web.HTTPNotFound(text="no such report")
    query = read_query(dict(request.query))
    allowed = await scope(request)
    values = await page_values(request, query, kind, allowed)
    if not query.ok:
        return render(request, "console/reports/by_name.html", 400, **values, document=None)
    dimension = DIMENSIONS[kind]
    report = await by_name(
        context(request).store,
        dimension,
        query.period,
        query.target,
        query.options,
        allowed,
        page=page_number(request),
        page_size=PAGE_SIZE,
    )
    first, last = query.period.first.isoformat(), query.period.last.isoformat()
    base = f"/reports/{kind}?{values['querystring']}"
    return render(
        request,
        "console/reports/by_name.html",
        document=by_name_document(report),
        charts=inline_charts(by_name_charts(report)),
        report=report,
        links={row.name: jobs_link(dimension, row.name, first, last) for row in report.rows},
        previous=f"{base}&page={report.page - 1}" if report.page > 1 else "",
        following=f"{base}&page={report.page + 1}" if report.page < report.pages else "",
        **values,
    )

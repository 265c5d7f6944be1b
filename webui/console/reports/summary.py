"""/reports/: the Summary for all printers, one group or one printer over a period: the totals
and fees tables and the pies, drawn by the reports engine (the same tables and charts as its
PDF, so the page and the files agree), cost against price, with or without taxes."""

from __future__ import annotations

from aiohttp import web

from gateway.reports.documents import summary_charts, summary_document
from gateway.reports.summary import summary as summary_of

from ...pages import render
from .common import context, read_query, scope
from .shared import inline_charts, page_values


async def summary_page(request: web.Request) -> web.Response:
    query = read_query(dict(request.query))
    allowed = await scope(request)
    values = await page_values(request, query, "summary", allowed)
    if not query.ok:
        return render(request, "console/reports/summary.html", 400, **values, document=None)
    report = await summary_of(context(request).store, query.period, query.target, allowed)
    with_tax = query.options.with_tax
    return render(
        request,
        "console/reports/summary.html",
        document=summary_document(report, with_tax),
        charts=inline_charts(summary_charts(report, with_tax)),
        **values,
    )

"""/reports/reconciliation: per printer and period, the impressions printgate charged against
the printer's own counter (SNMP meter readings), the difference made by jobs printed around
printgate, and each job whose meter check disagreed. Figures from the reports engine."""

from __future__ import annotations

from aiohttp import web

from gateway.reports.documents import reconciliation_document
from gateway.reports.reconciliation import reconciliation

from ...pages import render
from .common import context, read_query, scope
from .shared import page_values


async def reconciliation_page(request: web.Request) -> web.Response:
    query = read_query(dict(request.query))
    allowed = await scope(request)
    values = await page_values(request, query, "reconciliation", allowed)
    if not query.ok:
        return render(request, "console/reports/reconciliation.html", 400, **values, document=None)
    report = await reconciliation(context(request).store, query.period, query.target, allowed)
    return render(
        request,
        "console/reports/reconciliation.html",
        document=reconciliation_document(report),
        **values,
    )

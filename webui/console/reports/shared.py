"""What the report pages put around their figures: the filter form's choices, the tabs, the
download links and the mail form, and the engine's charts as inline SVG."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from markupsafe import Markup

from gateway.reports.charts import Chart, svg
from gateway.reports.document import shown
from gateway.reports.scope import Scope

from .common import (
    ReportQuery,
    billable_choices,
    fees_choices,
    period_choices,
    tab_names,
    target_choices,
)

DOWNLOAD_FORMATS = ("pdf", "xlsx", "csv")


STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')
PROPERTY = re.compile(r"^[a-z-]+$")


def _presentation(match: re.Match[str]) -> str:
    """style="fill: red; stroke: none" as fill="red" stroke="none": the console's CSP
    forbids inline styles, while SVG's presentation attributes are markup, not styles."""
    found = []
    for declaration in match.group(1).split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip(), value.strip()
        if PROPERTY.match(name) and value:
            found.append(f' {name}="{value}"')  # already attribute-escaped where it came from
    return "".join(found)


def inline_charts(charts: Iterable[Chart]) -> list[Markup]:
    """Each chart as an <svg> element. reportlab escapes the drawing's own text, and the
    engine adds only an escaped title, so the markup is safe to put in the page as it is."""
    return [Markup(STYLE_ATTRIBUTE.sub(_presentation, svg(chart))) for chart in charts]


async def page_values(
    request: web.Request, query: ReportQuery, kind: str, allowed: Scope
) -> dict[str, Any]:
    """The values every report page's template reads besides its figures."""
    querystring = query.querystring()
    return {
        "query": query,
        "form": query.form,
        "kind": kind,
        "periods": period_choices(),
        "targets": target_choices(request, allowed),
        "billables": billable_choices(),
        "fees": fees_choices(),
        "tabs": await tab_names(request, query.target),
        "querystring": querystring,
        "downloads": [
            (fmt, f"/reports/download/{kind}.{fmt}?{querystring}") for fmt in DOWNLOAD_FORMATS
        ],
        "scoped": allowed != Scope(),
        "shown": shown,
    }

"""/audit/: the audit log for administrators: every change made in the console or with the
`printgate` command, newest first, filtered by the querystring (actor, action, target, from
and to dates; text matches in part), and the same entries as CSV (/audit/export.csv) with
formula-looking cells neutralised."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from gateway.reports.csv_cells import neutralised
from gateway.store.audit import AuditEntry, AuditFilter, entries

from ...context import CONTEXT_KEY
from ...forms import Form
from ...i18n import gettext
from ...pages import render
from ...security.areas import ADMIN, area

SHOWN = 100  # entries a page; "older entries" pages on by id, the export has them all
EXPORTED = 100_000
FILTER_FIELDS = ("actor", "action", "target", "from", "to")


def _date(form: Form, name: str) -> date | None:
    value = form.raw(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        form.error(name, gettext("A date such as 2025-03-31 is needed."))
        return None


def parse_filter(query: dict[str, str]) -> tuple[Form, AuditFilter]:
    """The querystring as a filter; dates are whole days in UTC, both ends included."""
    form = Form({k: v for k, v in query.items() if k in FILTER_FIELDS})
    actor = form.text("actor", max_length=100)
    action = form.text("action", max_length=100)
    target = form.text("target", max_length=255)
    since, until = _date(form, "from"), _date(form, "to")
    if since and until and until < since:
        form.error("to", gettext("The end is before the start."))
    before = query.get("before", "")
    before_id = int(before) if before.isdigit() else None
    if not form.ok:
        return form, AuditFilter(actor, action, target)
    return form, AuditFilter(
        actor,
        action,
        target,
        since=datetime.combine(since, time(), UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), UTC) if until else None,
        before_id=before_id,
    )


async def log_page(request: web.Request) -> web.Response:
    form, where = parse_filter(dict(request.query))
    store = request.config_dict[CONTEXT_KEY].store
    found = await entries(store, where, limit=SHOWN + 1) if form.ok else []
    query = urlencode({k: v for k, v in form.values.items() if v})
    return render(
        request,
        "console/audit/log.html",
        400 if not form.ok else 200,
        form=form,
        entries=found[:SHOWN],
        older=f"/audit/?{query}&before={found[SHOWN - 1].id}" if len(found) > SHOWN else "",
        shown=SHOWN,
        export=f"/audit/export.csv?{query}" if query else "/audit/export.csv",
        filtered=bool(query),
    )


def _changes(values: dict[str, Any]) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True) if values else ""


def csv_text(found: list[AuditEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["at", "actor", "source", "action", "target", "before", "after"])
    for entry in found:
        row = [
            entry.at.astimezone(UTC).isoformat(timespec="seconds"),
            entry.actor,
            entry.source,
            entry.action,
            entry.target,
            _changes(entry.before),
            _changes(entry.after),
        ]
        writer.writerow([neutralised(cell) for cell in row])
    return out.getvalue()


async def export(request: web.Request) -> web.Response:
    form, where = parse_filter(dict(request.query))
    if not form.ok:
        raise web.HTTPBadRequest(text="; ".join(f"{k}: {v}" for k, v in form.errors.items()))
    store = request.config_dict[CONTEXT_KEY].store
    found = await entries(store, where, limit=EXPORTED)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return web.Response(
        text=csv_text(found),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="printgate-audit-{stamp}.csv"'},
    )


def make() -> web.Application:
    app = area("audit", ADMIN)
    app.router.add_get("/", log_page)
    app.router.add_get("/export.csv", export)
    return app

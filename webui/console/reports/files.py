"""A report as a file (PDF, XLSX, CSV, and the raw export of every job of the period), and a
report mailed now to addresses separated by ";" as PDF and/or Excel. Files are rendered by
the reports engine under the signed-in account's scope; a mail over the attachment limit
goes as a notice saying so (the engine never cuts a report short)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from gateway.reports.export import csv_stream
from gateway.reports.mailing import AddressError, addresses, mail_report
from gateway.reports.raw import RAW_COLUMNS, raw_rows
from gateway.reports.render import (
    CONTENT_TYPES,
    REPORT_KINDS,
    ReportRequest,
    render_many,
    write_report,
)
from gateway.runtime.mail import MailError

from ...forms import Form
from ...i18n import gettext
from ...pages import render
from .common import QUERY_FIELDS, context, read_query, scope
from .shared import DOWNLOAD_FORMATS

MAIL_FORMATS = ("pdf", "xlsx")
MAILED_KINDS = ("summary", "users", "projects", "departments", "reconciliation")
SPOOLED = 8 * 1024 * 1024  # a file bigger than this waits on disk, not in memory
CHUNK = 256 * 1024


async def request_of(web_request: web.Request, kind: str, data: dict[str, str]) -> ReportRequest:
    query = read_query({k: v for k, v in data.items() if k in QUERY_FIELDS})
    if not query.ok:
        problems = "; ".join(f"{k}: {v}" for k, v in query.form.errors.items())
        raise web.HTTPBadRequest(text=problems)
    return ReportRequest(
        kind=kind,  # type: ignore[arg-type]
        period=query.period,
        target=query.target,
        scope=await scope(web_request),
        options=query.options,
    )


async def send_stream(
    request: web.Request, filename: str, fmt: str, chunks: AsyncIterator[bytes]
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": CONTENT_TYPES[fmt],
            "Content-Disposition": f'attachment; filename="{filename}"',
        }
    )
    await response.prepare(request)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


async def spooled(write: Any) -> AsyncIterator[bytes]:
    """What `write(file)` writes, read back in chunks from a spooled temporary file."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOLED) as out:
        await write(out)
        out.seek(0)
        while chunk := await asyncio.to_thread(out.read, CHUNK):
            yield chunk


async def download(request: web.Request) -> web.StreamResponse:
    kind, fmt = request.match_info["kind"], request.match_info["format"]
    if kind not in REPORT_KINDS or fmt not in (*DOWNLOAD_FORMATS, "json"):
        raise web.HTTPNotFound(text="no such report or format")
    wanted = await request_of(request, kind, dict(request.query))
    filename = f"{wanted.filename_stem}.{fmt}"
    if kind == "raw" and fmt == "csv":  # every job of the period, streamed as it is read
        rows = raw_rows(context(request).store, wanted.period, wanted.target, wanted.scope)
        return await send_stream(request, filename, fmt, csv_stream(RAW_COLUMNS, rows))
    logo = await context(request).settings.logo()

    async def write(out: Any) -> None:
        await write_report(context(request).store, wanted, fmt, out, logo)

    return await send_stream(request, filename, fmt, spooled(write))


# --- mail now -------------------------------------------------------------------------------


def _formats(form: Form) -> Sequence[str]:
    chosen = [fmt for fmt in MAIL_FORMATS if form.boolean(fmt)]
    if not chosen:
        form.error("pdf", gettext("Choose PDF, Excel or both."))
    return chosen


async def mail_now(request: web.Request) -> web.Response:
    kind = request.match_info["kind"]
    if kind not in MAILED_KINDS:
        raise web.HTTPNotFound(text="no such report")
    data = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    form = Form(data)
    to = form.text("mail_to", required=True, max_length=2000)
    if to:
        try:
            addresses(to)
        except AddressError as exc:
            form.error("mail_to", gettext("Not an e-mail address: %(what)s", what=str(exc)))
    formats = _formats(form)
    wanted = await request_of(request, kind, data)
    values: dict[str, Any] = {
        "form": form,
        "kind": kind,
        "back": _back(kind, data),
        "sent": None,
        "error": "",
    }
    if not form.ok:
        return render(request, "console/reports/mail.html", 400, **values)
    files = await render_many(
        context(request).store, wanted, formats, await context(request).settings.logo()
    )
    title = f"printgate: {wanted.filename_stem}"
    try:
        sent = await mail_report(await context(request).mailer(), to, title, files)
    except MailError as exc:
        return render(request, "console/reports/mail.html", 502, **(values | {"error": str(exc)}))
    return render(request, "console/reports/mail.html", 200, **(values | {"sent": sent}))


def _back(kind: str, data: dict[str, str]) -> str:
    query = urlencode({k: v for k, v in data.items() if k in QUERY_FIELDS and v})
    path = "/reports/" if kind == "summary" else f"/reports/{kind}"
    return f"{path}?{query}"

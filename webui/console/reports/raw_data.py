"""/reports/raw/: custom raw data. The person picks, from every field a job has, the columns
they want, renames and orders them, and saves the choice under a name (per account, like a
custom report). Its export holds every job of the period the account's scope lets it see,
those columns only, as CSV (streamed, formulas neutralised) or XLSX."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import IO, Any

from aiohttp import web
from openpyxl import Workbook

from gateway.reports.export import csv_stream
from gateway.reports.raw import RAW_COLUMNS, raw_rows
from gateway.reports.render import RAW_KINDS
from gateway.reports.xlsx import SheetWriter

from ...forms import Form
from ...i18n import gettext
from ...pages import render
from .common import account, actor, context, read_query, scope
from .designs import Design, DesignError, delete_design, design, designs, save_design
from .files import send_stream, spooled
from .shared import page_values

KIND = "raw"
PAGE = "/reports/raw/"
XLSX_CHUNK = 2000


def columns_of(found: Design | None) -> list[tuple[str, str]]:
    if found is None:
        return []
    return [
        (field, label) for field, label in found.body.get("columns", []) if field in RAW_COLUMNS
    ]


def editor_values(found: Design | None) -> dict[str, str]:
    """The editor's fields for a saved design: chosen, label and position per column."""
    values = {"name": found.name if found else ""}
    for position, (field, label) in enumerate(columns_of(found), start=1):
        values[f"c_{field}"] = "on"
        values[f"l_{field}"] = label
        values[f"p_{field}"] = str(position)
    return values


def read_columns(form: Form) -> list[tuple[str, str]]:
    """The chosen columns with their labels, in the order of their positions (then the jobs
    table's order)."""
    chosen = []
    for index, field in enumerate(RAW_COLUMNS):
        if not form.boolean(f"c_{field}"):
            continue
        label = form.text(f"l_{field}", max_length=100) or field
        position_text = form.raw(f"p_{field}")
        position = int(position_text) if position_text.isdigit() else 10_000
        chosen.append((position, index, field, label))
    if not chosen:
        form.error("columns", gettext("Choose at least one column."))
    return [(field, label) for _p, _i, field, label in sorted(chosen)]


async def _page(
    request: web.Request, found: Design | None, form: Form | None = None, status: int = 200
) -> web.Response:
    query = read_query({k: v for k, v in request.query.items() if k != "design"})
    values = await page_values(request, query, KIND, await scope(request))
    editor = form or Form(editor_values(found))
    return render(
        request,
        "console/reports/raw.html",
        status,
        designs=await designs(context(request).store, account(request).username, KIND),
        design=found,
        editor=editor,
        fields=RAW_COLUMNS,
        **values,
    )


async def raw_page(request: web.Request) -> web.Response:
    chosen = request.query.get("design", "")
    found = None
    if chosen.isdigit():
        found = await design(context(request).store, account(request).username, KIND, int(chosen))
        if found is None:
            raise web.HTTPNotFound(text="no such custom raw data")
    return await _page(request, found)


async def save(request: web.Request) -> web.Response:
    form = Form(await request.post())
    name = form.text("name", required=True, max_length=100)
    columns = read_columns(form)
    design_text = form.raw("design")
    found = None
    if design_text.isdigit():
        found = await design(
            context(request).store, account(request).username, KIND, int(design_text)
        )
    if not form.ok:
        return await _page(request, found, form, 400)
    body = {"columns": [list(pair) for pair in columns]}
    try:
        saved = await save_design(
            context(request).store, actor(request), KIND, name, body, found.id if found else None
        )
    except DesignError:
        form.error("name", gettext("You already have a report of this name."))
        return await _page(request, found, form, 400)
    raise web.HTTPSeeOther(f"{PAGE}?design={saved}&saved=1")


async def remove(request: web.Request) -> web.Response:
    text = request.match_info["id"]
    if text.isdigit():
        await delete_design(context(request).store, actor(request), KIND, int(text))
    raise web.HTTPSeeOther(PAGE)


async def _picked(
    rows: AsyncIterator[Sequence[Any]], indexes: list[int]
) -> AsyncIterator[Sequence[Any]]:
    async for row in rows:
        yield [None if isinstance(row[i], bytes) else row[i] for i in indexes]


async def export(request: web.Request) -> web.StreamResponse:
    text, fmt = request.match_info["id"], request.match_info["format"]
    found = None
    if text.isdigit():
        found = await design(context(request).store, account(request).username, KIND, int(text))
    if found is None or fmt not in ("csv", "xlsx"):
        raise web.HTTPNotFound(text="no such custom raw data or format")
    query = read_query(dict(request.query))
    if not query.ok:
        raise web.HTTPBadRequest(text="; ".join(f"{k}: {v}" for k, v in query.form.errors.items()))
    columns = columns_of(found)
    indexes = [RAW_COLUMNS.index(field) for field, _label in columns]
    labels = [label for _field, label in columns]
    store = context(request).store
    rows = _picked(raw_rows(store, query.period, query.target, await scope(request)), indexes)
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in found.name)[:60]
    filename = f"printgate-raw-{stem}-{query.period.first}_{query.period.last}.{fmt}"
    if fmt == "csv":
        return await send_stream(request, filename, fmt, csv_stream(labels, rows))
    kinds = [RAW_KINDS.get(field, "text") for field, _label in columns]

    async def write(out: IO[bytes]) -> None:
        await _write_xlsx(labels, kinds, rows, out)

    return await send_stream(request, filename, fmt, spooled(write))


async def _write_xlsx(
    labels: list[str], kinds: list[Any], rows: AsyncIterator[Sequence[Any]], out: IO[bytes]
) -> None:
    book = Workbook(write_only=True)
    writer = SheetWriter(book.create_sheet("Jobs"), kinds, "")
    writer.header(labels)
    chunk: list[Sequence[Any]] = []
    async for row in rows:
        chunk.append(row)
        if len(chunk) >= XLSX_CHUNK:
            await asyncio.to_thread(_append, writer, chunk)
            chunk = []
    await asyncio.to_thread(_append, writer, chunk)
    await asyncio.to_thread(book.save, out)


def _append(writer: SheetWriter, rows: list[Sequence[Any]]) -> None:
    for row in rows:
        writer.row(row)


def register(app: web.Application) -> None:
    app.router.add_get("/raw/", raw_page)
    app.router.add_post("/raw/", save)
    app.router.add_post("/raw/{id}/delete", remove)
    app.router.add_get("/raw/{id}.{format}", export)

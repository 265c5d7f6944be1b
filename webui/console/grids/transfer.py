"""CSV in and out of a grid. Export writes the grid's rows (its filter applied, every page)
with spreadsheet formulas neutralised. Import is SmartTracker's, with a field mapping: the
uploaded file's columns are listed beside the grid's fields, a mapping matching by name is
proposed, a preview shows the rows as they will be stored and every bad row's line and
reason, and the import is all-or-nothing through the same parser and store call as
`printgate KIND import`. The file travels in the mapping form itself (base64), so nothing
is kept on the server between the steps. "Link this path" hands a server file to
gateway/accounting/linked_lists.py."""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
from collections.abc import Sequence

from aiohttp import web

from gateway.accounting.linked_lists import LinkError
from gateway.accounting.lists import STATUSES, GridQuery, Kind, ListError, Put
from gateway.accounting.lists_csv import (
    COLUMNS,
    InvalidCsv,
    Record,
    header_of,
    parse,
    proposed_mapping,
    write,
)
from gateway.runtime.passwords import hash_password

from ...i18n import gettext
from ...pages import render
from ...security.guard import accepts_upload
from ...security.uploads import UploadedForm, read_form
from .common import (
    SEGMENT_OF,
    action_url,
    actor,
    grid_url,
    kind_of,
    linked,
    lists,
    queue_of,
)
from .edit import form_of, refused, writable
from .view import column_names, shown

MAX_CSV = 5 << 20
PREVIEW_ROWS = 10
EVERY_ROW = 10**9


async def export(request: web.Request) -> web.Response:
    kind = kind_of(request)
    queue = queue_of(request).name
    grid = shown({**request.query, "tab": SEGMENT_OF[kind]})
    query = grid.query()
    every = GridQuery(query.text, query.statuses, query.sort, query.descending, 0, EVERY_ROW)
    found = await lists(request).page(kind, queue, every)
    text = io.StringIO()
    write(text, kind, found.entries, neutralise=True)
    filename = f"{queue}-{SEGMENT_OF[kind]}.csv"
    return web.Response(
        body=text.getvalue().encode("utf-8-sig"),  # the BOM: Excel then reads UTF-8 right
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- import -------------------------------------------------------------------------------


def _fields(kind: str) -> list[tuple[str, str]]:
    names = column_names(kind)
    return [(column.field, names.get(column.field, column.header)) for column in COLUMNS[kind]]


async def upload_page(request: web.Request) -> web.Response:
    return _upload_form(request, kind_of(request))


def _upload_form(
    request: web.Request, kind: Kind, error: str = "", status: int = 200
) -> web.Response:
    queue = queue_of(request).name
    return render(
        request,
        "console/grids/upload.html",
        status,
        queue=queue,
        kind=kind,
        error=error,
        action=action_url(queue, kind, "import"),
        back=grid_url(queue, kind),
        fields=_fields(kind),
    )


def _readable(data: bytes) -> bool:
    """Text, as a CSV is: not a binary file under a .csv name."""
    return b"\x00" not in data[:4096] or data.startswith((b"\xff\xfe", b"\xfe\xff"))


@accepts_upload
async def upload(request: web.Request) -> web.Response:
    kind = kind_of(request)
    async with read_form(request, MAX_CSV) as form:
        sent = form.files.get("file")
        data = sent.path.read_bytes() if sent is not None else b""
    if not data.strip():
        return _upload_form(request, kind, gettext("Choose a CSV file."), 400)
    if not _readable(data):
        return _upload_form(request, kind, gettext("This is not a CSV file."), 400)
    if closed := await writable(request, kind):
        return _upload_form(request, kind, closed, 409)
    header = header_of(data, legacy=True)
    return await _mapping_page(request, kind, data, header, proposed_mapping(kind, header))


def _mapping_of(form: UploadedForm, kind: str, width: int) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for column in COLUMNS[kind]:
        chosen = form.fields.get(f"map_{column.field}", "")
        if chosen.isdigit() and int(chosen) < width:
            mapping[column.field] = int(chosen)
    return mapping


async def _mapping_page(
    request: web.Request,
    kind: Kind,
    data: bytes,
    header: list[str],
    mapping: dict[str, int],
    status: int = 200,
) -> web.Response:
    queue = queue_of(request).name
    stored = {e.name: e for e in await lists(request).entries(kind, queue, STATUSES)}
    records: list[Record] = []
    problems: list[tuple[int, str]] = []
    try:
        records = parse(data, kind, stored, mapping=mapping, legacy=True)
    except InvalidCsv as exc:
        problems = exc.problems
    return render(
        request,
        "console/grids/mapping.html",
        status,
        queue=queue,
        kind=kind,
        header=header,
        mapping=mapping,
        fields=_fields(kind),
        data=base64.b64encode(data).decode("ascii"),
        preview=records[:PREVIEW_ROWS],
        count=len(records),
        new=sum(r.name not in stored for r in records),
        problems=problems,
        action=action_url(queue, kind, "import/map"),
        back=grid_url(queue, kind),
    )


@accepts_upload
async def mapped(request: web.Request) -> web.Response:
    """The mapping form: preview again with the mapping chosen, or import."""
    kind = kind_of(request)
    queue = queue_of(request).name
    async with read_form(request, MAX_CSV * 2) as form:
        pass
    try:
        data = base64.b64decode(form.fields.get("data", ""), validate=True)
    except (binascii.Error, ValueError):
        data = b""
    if not data.strip() or not _readable(data):
        return _upload_form(request, kind, gettext("Choose a CSV file."), 400)
    if closed := await writable(request, kind):
        return _upload_form(request, kind, closed, 409)
    header = header_of(data, legacy=True)
    mapping = _mapping_of(form, kind, len(header))

    if form.fields.get("step") != "import":
        return await _mapping_page(request, kind, data, header, mapping)
    stored = {e.name: e for e in await lists(request).entries(kind, queue, STATUSES)}
    try:
        records = parse(data, kind, stored, mapping=mapping, legacy=True)
    except InvalidCsv:
        return await _mapping_page(request, kind, data, header, mapping, 400)
    puts = await asyncio.to_thread(_puts, records)
    try:
        result = await lists(request).put_many(kind, queue, puts, actor=actor(request))
    except ListError:  # the list changed meanwhile: nothing was stored
        return await _mapping_page(request, kind, data, header, mapping, 409)
    saved = gettext(
        "Imported: %(a)s added, %(u)s updated, %(k)s unchanged.",
        a=result.added,
        u=result.updated,
        k=result.unchanged,
    )
    raise web.HTTPSeeOther(grid_url(queue, kind, saved=saved))


def _puts(records: Sequence[Record]) -> list[Put]:
    """The records with their passwords hashed (argon2: slow on purpose)."""
    return [
        Put(
            name=r.name,
            status=r.status,
            password_hash=hash_password(r.password) if r.password is not None else None,
            keep_password=r.keep_password,
            details=r.details,
        )
        for r in records
    ]


# --- linked files -------------------------------------------------------------------------


async def link(request: web.Request) -> web.Response:
    kind = kind_of(request)
    queue = queue_of(request).name
    form = await form_of(request)
    links = linked(request)
    if links is None:
        return await refused(request, form, {"link-path": gettext("Not served here.")})
    try:
        await links.link(kind, queue, str(form.get("path", "")), actor=actor(request))
    except LinkError:
        return await refused(
            request,
            form,
            {"link-path": gettext("Not a file in the directories allowed ([lists] linked_dirs).")},
        )
    raise web.HTTPSeeOther(grid_url(queue, kind))


async def unlink(request: web.Request) -> web.Response:
    kind = kind_of(request)
    queue = queue_of(request).name
    form = await form_of(request)
    links = linked(request)
    try:
        if links is None:
            raise LinkError("not served")
        await links.unlink(kind, queue, actor=actor(request))
    except LinkError:
        return await refused(request, form, {"link-path": gettext("This list is not linked.")})
    raise web.HTTPSeeOther(grid_url(queue, kind))

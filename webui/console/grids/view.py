"""/console/queues/NAME: SmartTracker's home screen for one printer group. The bar of groups
and their printers; the Users | Projects | Departments tabs with their counts; the chosen
list as a grid filtered, sorted and paged on the server (querystring in, so it works as plain
links and forms, and grids.js only fetches the same page as you type); the group's options
beside it; for a linked list, when its file was last read and what it refused; and under it
the queue's latest jobs, with a link to all of them in the jobs view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from gateway.accounting.lists import COLUMNS, DETAILS, STATUSES, GridQuery, Kind
from gateway.server.queue_attrs import QueueView

from ...i18n import gettext
from ...pages import render
from ..preferences.groups import auth_choices
from .common import (
    PAGE_SIZES,
    SEGMENT_OF,
    SEGMENTS,
    action_url,
    context,
    grid_url,
    is_admin,
    linked,
    lists,
    queue_of,
    tab_labels,
)

RECENT_JOBS = 10  # under the grids; /console/jobs?queue=NAME has them all


@dataclass(frozen=True)
class Shown:
    """The grid as the querystring asks for it."""

    kind: Kind
    text: str
    status: str  # "" (enabled and disabled), "enabled" or "disabled"
    removed: bool  # the Removed view
    sort: str
    descending: bool
    size: int
    page: int
    edit: str = ""  # the row whose edit form shows (the plain form, without JavaScript)

    def query(self) -> GridQuery:
        statuses = ("removed",) if self.removed else (self.status,) if self.status else STATUSES[:2]
        return GridQuery(
            text=self.text,
            statuses=statuses,
            sort=self.sort,
            descending=self.descending,
            offset=(self.page - 1) * self.size,
            limit=self.size,
        )

    def url(self, queue: str, **changed: str | int) -> str:
        values: dict[str, str | int] = {
            "q": self.text,
            "status": self.status,
            "view": "removed" if self.removed else "",
            "sort": self.sort if self.sort != "name" else "",
            "dir": "desc" if self.descending else "",
            "size": self.size if self.size != PAGE_SIZES[0] else "",
            "page": self.page if self.page > 1 else "",
        }
        values.update(changed)
        return grid_url(queue, self.kind, **values)


def shown(query: Mapping[str, str]) -> Shown:
    kind = SEGMENTS.get(query.get("tab", "users"), "user")
    sort = query.get("sort", "name")
    size = int(query["size"]) if query.get("size", "") in {str(s) for s in PAGE_SIZES} else 25
    page = query.get("page", "1")
    return Shown(
        kind=kind,
        text=query.get("q", "").strip()[:100],
        status=query.get("status", "") if query.get("status", "") in STATUSES[:2] else "",
        removed=query.get("view", "") == "removed",
        sort=sort if sort in COLUMNS[kind] else "name",
        descending=query.get("dir", "") == "desc",
        size=size,
        page=max(1, int(page)) if page.isdigit() else 1,
        edit=query.get("edit", ""),
    )


def column_names(kind: str) -> dict[str, str]:
    names = {
        "name": gettext("User name") if kind == "user" else gettext("Name"),
        "password": gettext("Password"),
        "first_name": gettext("First name"),
        "last_name": gettext("Last name"),
        "email": gettext("E-mail"),
        "address": gettext("Address"),
        "description": gettext("Description"),
        "status": gettext("Status"),
    }
    return {column: names[column] for column in ("name", "password", *COLUMNS[kind][1:])}


def status_names() -> dict[str, str]:
    return {
        "enabled": gettext("Enabled"),
        "disabled": gettext("Disabled"),
        "removed": gettext("Removed"),
    }


def queue_bar(request: web.Request) -> list[tuple[str, list[str]]]:
    return [
        (name, [printer.name for printer in view.printers])
        for name, view in sorted(context(request).queues.items())
    ]


async def queue_page(request: web.Request) -> web.Response:
    view = queue_of(request)
    grid = shown(request.query)
    return await render_grid(request, view, grid)


async def render_grid(
    request: web.Request,
    view: QueueView,
    grid: Shown,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """The page; `errors` and `values` show a refused add or edit again beside its cells."""
    name = view.name
    found = await lists(request).page(grid.kind, name, grid.query())
    if not found.entries and grid.page > 1 and found.total:  # past the last page: the last
        last = (found.total - 1) // grid.size + 1
        raise web.HTTPSeeOther(grid.url(name, page=last))
    links = linked(request)
    link = await links.get(grid.kind, name) if links is not None else None
    live = context(request).live_queues
    group = live.group(name) if live is not None else None
    directory = grid.kind == "user" and view.queue.auth == "directory"
    editing = await lists(request).get(grid.kind, name, grid.edit) if grid.edit else None
    return render(
        request,
        "console/grids/queue.html",
        status,
        queue=view,
        bar=queue_bar(request),
        labels=await tab_labels(request, name),
        counts=await lists(request).counts(name),
        segments=SEGMENTS,
        grid=grid,
        entries=found.entries,
        total=found.total,
        pages=max(1, (found.total - 1) // grid.size + 1),
        columns=column_names(grid.kind),
        statuses=status_names(),
        sizes=PAGE_SIZES,
        admin=is_admin(request),
        editable=is_admin(request) and link is None and not directory,
        directory=directory,
        link=link,
        editing=editing,
        details=DETAILS[grid.kind],
        auth_choices=auth_choices(),
        linking=links is not None and bool(context(request).config.lists.linked_dirs),
        group=group,
        errors=errors or {},
        values=values or {},
        here=grid.url(name),
        segment=SEGMENT_OF[grid.kind],
        export_url=grid.url(name).replace("?", f"/export/{SEGMENT_OF[grid.kind]}?", 1),
        action=lambda verb: action_url(name, grid.kind, verb),
        saved=request.query.get("saved", ""),
        jobs=await context(request).recent_jobs(name, RECENT_JOBS),
    )

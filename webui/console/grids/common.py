"""What the grid pages share: the lists a URL names, the tabs' names, who may change what,
and a list's refusals in the page's language."""

from __future__ import annotations

from typing import cast
from urllib.parse import quote, urlencode

from aiohttp import web

from gateway.accounting.linked_lists import LinkedLists
from gateway.accounting.lists import MAX_NAME, Kind, Lists
from gateway.config import RESERVED_NAMES
from gateway.server.queue_attrs import QueueView

from ...i18n import gettext
from ..common import actor as actor
from ..common import context as context
from ..common import is_admin as is_admin

# The URL's word for each list, in the tabs' order.
SEGMENTS: dict[str, Kind] = {"users": "user", "projects": "project", "departments": "department"}
SEGMENT_OF = {kind: segment for segment, kind in SEGMENTS.items()}
PAGE_SIZES = (25, 50, 100)


def lists(request: web.Request) -> Lists:
    return Lists(context(request).store)


def linked(request: web.Request) -> LinkedLists | None:
    return context(request).linked_lists


def queue_of(request: web.Request) -> QueueView:
    found = context(request).queues.get(request.match_info["queue"])
    if found is None:
        raise web.HTTPNotFound(text=gettext("No such queue."))
    return found


def kind_of(request: web.Request) -> Kind:
    kind = SEGMENTS.get(request.match_info["kind"])
    if kind is None:
        raise web.HTTPNotFound(text=gettext("No such list."))
    return kind


def default_labels() -> dict[str, str]:
    return {
        "user": gettext("Users"),
        "project": gettext("Projects"),
        "department": gettext("Departments"),
    }


async def tab_labels(request: web.Request, queue: str) -> dict[str, str]:
    return {**default_labels(), **await lists(request).tab_labels(queue)}


def name_problem(kind: str, name: str) -> str:
    """Why the lists would refuse this name ("" when they would not), for the cell."""
    name = name.strip()
    if not name:
        return gettext("This field is required.")
    if len(name) > MAX_NAME:
        return gettext("At most %(n)s characters.", n=MAX_NAME)
    if name.lower() in RESERVED_NAMES:
        return gettext("This name is reserved.")
    if kind != "user" and "/" in name:
        return gettext("Project and department names cannot hold '/'.")
    if not name.isprintable():
        return gettext("Control characters are not allowed.")
    return ""


def grid_url(queue: str, kind: str, **query: str | int) -> str:
    """The grid page of a queue's list, with its filter, sort and page in the query."""
    shown = {key: value for key, value in query.items() if value not in ("", None)}
    path = f"/console/queues/{quote(queue, safe='')}"
    return f"{path}?{urlencode({'tab': SEGMENT_OF[cast(Kind, kind)], **shown})}"


def action_url(queue: str, kind: str, action: str) -> str:
    return f"/console/grids/{quote(queue, safe='')}/{SEGMENT_OF[cast(Kind, kind)]}/{action}"


def back_to_grid(back: str, fallback: str) -> str:
    """Where a form goes back after its change: the grid as it was shown (this site only)."""
    return back if back.startswith("/console/queues/") and "//" not in back else fallback

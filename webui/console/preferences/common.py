"""What every Preferences panel uses: who is acting, and the context."""

from __future__ import annotations

from aiohttp import web

from ..common import account as account
from ..common import actor as actor
from ..common import context as context


def saved_message(request: web.Request) -> str:
    """The "saved" flag a redirect after a save carries (shown once, as a status)."""
    return request.query.get("saved", "")

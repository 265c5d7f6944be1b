"""What every Preferences panel uses: who is acting, and the context."""

from __future__ import annotations

from aiohttp import web

from gateway.identity.accounts import Account
from gateway.store.audit import Actor

from ...context import CONTEXT_KEY, WebContext
from ...security.guard import signed_in


def context(request: web.Request) -> WebContext:
    return request.config_dict[CONTEXT_KEY]


def account(request: web.Request) -> Account:
    """The signed-in administrator (the area's role check ran before any handler)."""
    signed = signed_in(request)
    assert signed is not None
    return signed.account


def actor(request: web.Request) -> Actor:
    return Actor(account(request).username, "console")


def saved_message(request: web.Request) -> str:
    """The "saved" flag a redirect after a save carries (shown once, as a status)."""
    return request.query.get("saved", "")

"""What every console area's handlers ask of a request: the web context, the signed-in
account (the area's role check has run before any handler) and the audit's actor for it."""

from __future__ import annotations

from aiohttp import web

from gateway.identity.accounts import Account
from gateway.store.audit import Actor

from ..context import CONTEXT_KEY, WebContext
from ..security.guard import signed_in


def context(request: web.Request) -> WebContext:
    return request.config_dict[CONTEXT_KEY]


def account(request: web.Request) -> Account:
    signed = signed_in(request)
    assert signed is not None  # the area's role check ran first
    return signed.account


def actor(request: web.Request) -> Actor:
    return Actor(account(request).username, "console")


def is_admin(request: web.Request) -> bool:
    signed = signed_in(request)
    return signed is not None and signed.account.role == "admin"

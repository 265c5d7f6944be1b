"""Console areas: each is an aiohttp sub-application whose middleware checks the role before
any of its handlers runs, so a route added to an area cannot forget the check. Anonymous
visitors are sent to sign in; a signed-in account without the role gets 403."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from .guard import Handler, signed_in

ADMIN = frozenset({"admin"})
EVERY_ROLE = frozenset({"admin", "bookkeeper"})


@dataclass(frozen=True)
class Area:
    name: str
    roles: frozenset[str]


AREA_KEY = web.AppKey("console-area", Area)


def area(name: str, roles: frozenset[str]) -> web.Application:
    """A new, empty area that only these roles may open."""
    app = web.Application(middlewares=[_role_check])
    app[AREA_KEY] = Area(name, roles)
    return app


def sign_in_url(request: web.Request) -> str:
    return f"/signin?next={quote(request.path_qs, safe='/')}"


@web.middleware
async def _role_check(request: web.Request, handler: Handler) -> web.StreamResponse:
    signed = signed_in(request)
    if signed is None:
        raise web.HTTPSeeOther(sign_in_url(request))
    if signed.account.role not in request.app[AREA_KEY].roles:
        raise web.HTTPForbidden(text="Your role does not allow this page.")
    return await handler(request)

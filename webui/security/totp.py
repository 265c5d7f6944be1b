"""Placeholder until the two-factor step is written: an account with a second factor cannot
sign in yet."""

from __future__ import annotations

from aiohttp import web

from gateway.identity.accounts import Account


async def second_factor_step(
    request: web.Request, account: Account, target: str
) -> web.StreamResponse:
    raise web.HTTPForbidden(text="two-factor sign-in is not available yet")

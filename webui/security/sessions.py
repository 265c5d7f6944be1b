"""Opening a console session once an account has proved who it is (password, and the second
factor when it has one)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aiohttp import web

from gateway.identity.accounts import Account

from ..context import CONTEXT_KEY
from .guard import see_other, set_session_cookie

log = logging.getLogger(__name__)
HOME = "/console/"


def safe_next(value: str) -> str:
    """Only a path on this site: an open redirect would make the sign-in page a phishing aid."""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return HOME
    return value


def source_address(request: web.Request) -> str:
    return request.remote or ""


async def open_session(request: web.Request, account: Account, target: str) -> web.StreamResponse:
    """Sign the account in: a new session, its cookie, and on to where it was going."""
    context = request.config_dict[CONTEXT_KEY]
    token, _signed = await context.accounts.open_session(account, source_address(request))
    log.info("console sign-in: %s from %s", account.username, source_address(request))
    response = see_other(target)
    set_session_cookie(response, request, token)
    return response

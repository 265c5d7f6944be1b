"""The middleware every web page passes through: who is signed in, and the CSRF check.

A request for a web page (not IPP, icons, health or metrics) gets `signed_in(request)`: the
live console session its cookie opens, or None. Every state-changing request must carry the
CSRF token, as the form field `csrf_token` or the header X-CSRF-Token, compared in constant
time: a signed-in session's own token, or for anonymous forms (sign-in, "forgot password",
the release page) the random token of the `printgate_csrf` cookie. A missing or wrong token
is 403 before any handler runs. Multipart bodies (uploads) are checked by `uploads.read_form`,
which the upload handler calls; a multipart request to any other handler is refused.

A signed-in account that must change its password, or an administrator who must enrol a
second factor first, is sent to that page whatever it asks for.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from gateway.identity.accounts import SessionPolicy, SignedIn

from ..context import CONTEXT_KEY

SESSION_COOKIE = "printgate_session"
ANONYMOUS_CSRF_COOKIE = "printgate_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SIGNED_KEY: web.RequestKey[SignedIn | None] = web.RequestKey("signed-in")
ANONYMOUS_TOKEN_KEY = web.RequestKey("anonymous-csrf", str)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NOT_WEB = ("/ipp/", "/icons/", "/healthz", "/metrics")
# Where an account that must act first may still go.
PASSWORD_PAGE = "/account/password"
TOTP_PAGE = "/account/totp"
ALWAYS_ALLOWED = ("/signout", "/static/")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def signed_in(request: web.Request) -> SignedIn | None:
    return request.get(SIGNED_KEY)


def csrf_token(request: web.Request) -> str:
    """The token this request's forms must carry back."""
    signed = signed_in(request)
    if signed is not None:
        return signed.csrf_token
    return request[ANONYMOUS_TOKEN_KEY]


def tokens_match(offered: str, expected: str) -> bool:
    return bool(offered) and hmac.compare_digest(offered.encode(), expected.encode())


def accepts_upload(handler: Handler) -> Handler:
    """Mark a handler that reads a multipart body itself (through uploads.read_form)."""
    handler.accepts_upload = True  # type: ignore[attr-defined]
    return handler


def _is_upload_handler(request: web.Request) -> bool:
    return bool(getattr(request.match_info.handler, "accepts_upload", False))


def see_other(location: str) -> web.Response:
    """A 303 returned (not raised), for redirects that set or delete a cookie."""
    return web.Response(status=303, headers={"Location": location})


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=request.secure,
        path="/",
    )


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(NOT_WEB):
        return await handler(request)
    context = request.config_dict[CONTEXT_KEY]
    token = request.cookies.get(SESSION_COOKIE, "")
    signed = None
    if token:
        web_config = context.config.web
        policy = SessionPolicy(
            idle=timedelta(minutes=web_config.session_idle_minutes),
            lifetime=timedelta(hours=web_config.session_lifetime_hours),
        )
        signed = await context.accounts.session(token, policy)
    anonymous_token = request.cookies.get(ANONYMOUS_CSRF_COOKIE, "")
    fresh_anonymous = not anonymous_token
    if fresh_anonymous:
        anonymous_token = secrets.token_urlsafe(32)
    request[SIGNED_KEY] = signed
    request[ANONYMOUS_TOKEN_KEY] = anonymous_token

    if request.method not in SAFE_METHODS:
        if request.content_type.startswith("multipart/"):
            if not _is_upload_handler(request):
                raise web.HTTPForbidden(text="this form takes no upload")
        else:
            offered = request.headers.get(CSRF_HEADER, "")
            if not offered:
                form = await request.post()
                value = form.get(CSRF_FIELD, "")
                offered = value if isinstance(value, str) else ""
            if not tokens_match(offered, csrf_token(request)):
                raise web.HTTPForbidden(
                    text="The form has expired or did not come from this site: reload the page"
                    " and send it again."
                )

    if signed is not None and not request.path.startswith(ALWAYS_ALLOWED):
        account = signed.account
        if account.must_change_password and request.path != PASSWORD_PAGE:
            raise web.HTTPSeeOther(PASSWORD_PAGE)
        needs_totp = account.is_admin and context.config.web.require_totp_for_admins
        if (
            needs_totp
            and not account.totp_secret
            and not account.must_change_password
            and request.path != TOTP_PAGE
        ):
            raise web.HTTPSeeOther(TOTP_PAGE)

    response = await handler(request)
    if fresh_anonymous and signed is None:
        response.set_cookie(
            ANONYMOUS_CSRF_COOKIE,
            anonymous_token,
            httponly=True,
            samesite="Strict",
            secure=request.secure,
            path="/",
        )
    return response

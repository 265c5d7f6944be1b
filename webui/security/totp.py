"""The second factor: time-based one-time codes (RFC 6238, PyPI `pyotp`).

After the right password, an account with a second factor is only half signed in: that state
lives here, in memory, for a few minutes, under a random token in an HttpOnly cookie; who is
signing in is never read from the form. A code is accepted one step either side of now
(phone clocks drift), and each time step is accepted once per account, so a code seen over a
shoulder or replayed from a log is worthless. Wrong codes count in the sign-in throttle, and
a half sign-in that guessed wrong too often is dropped: the password must be typed again.

Kept in memory: a restart forgets half sign-ins (typed again) and used time steps (a code of
the last minute could be used once more right after a restart, which an attacker cannot cause).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyotp
from aiohttp import web

from gateway.identity.accounts import Account

from ..context import CONTEXT_KEY
from ..forms import Form
from ..i18n import gettext
from ..pages import render
from .guard import signed_in
from .sessions import HOME, open_session, source_address

log = logging.getLogger(__name__)

TOTP_COOKIE = "printgate_totp"
TOTP_PATH = "/signin/totp"
ISSUER = "printgate"
HALF_SIGNED_IN_SECONDS = 5 * 60
ENROLMENT_SECONDS = 15 * 60
CODE_ATTEMPTS = 5  # per half sign-in; the throttle slows them down before that
CODE_RE = re.compile(r"^\d{6}$")


@dataclass
class HalfSignedIn:
    username: str
    target: str
    expires: float
    wrong_codes: int = 0


@dataclass
class SecondFactors:
    """What the second factor keeps between requests: half sign-ins by cookie token, secrets
    being enrolled by session, and the last time step each account used."""

    clock: Callable[[], float] = time.time
    _half: dict[str, HalfSignedIn] = field(default_factory=dict)
    _enrolling: dict[str, tuple[str, float]] = field(default_factory=dict)
    _last_step: dict[str, int] = field(default_factory=dict)

    def begin(self, account: Account, target: str) -> str:
        self._forget_expired()
        token = secrets.token_urlsafe(32)
        expires = self.clock() + HALF_SIGNED_IN_SECONDS
        self._half[token] = HalfSignedIn(account.username, target, expires)
        return token

    def half_signed_in(self, token: str) -> HalfSignedIn | None:
        half = self._half.get(token) if token else None
        if half is None or half.expires <= self.clock():
            self._half.pop(token, None)
            return None
        return half

    def end(self, token: str) -> None:
        self._half.pop(token, None)

    def enrolment_secret(self, session_hash: str) -> str:
        """The secret this session is enrolling: the same one until it expires, so reloading
        the page does not invalidate what the phone just scanned."""
        self._forget_expired()
        secret, expires = self._enrolling.get(session_hash, ("", 0.0))
        if not secret or expires <= self.clock():
            secret = pyotp.random_base32()
            self._enrolling[session_hash] = (secret, self.clock() + ENROLMENT_SECONDS)
        return secret

    def end_enrolment(self, session_hash: str) -> None:
        self._enrolling.pop(session_hash, None)

    def accept(self, username: str, secret: str, code: str) -> bool:
        """Whether the code is right for this secret now, and its time step not used before
        by this account; a right code spends its step."""
        code = code.replace(" ", "")
        if not secret or not CODE_RE.match(code):
            return False
        totp = pyotp.TOTP(secret)
        at = self.clock()
        if not totp.verify(code, for_time=at, valid_window=1):
            return False
        step = next(
            totp.timecode(at) + offset
            for offset in (-1, 0, 1)
            if secrets.compare_digest(code, totp.at(at, counter_offset=offset))
        )
        if step <= self._last_step.get(username, -1):
            log.warning("second factor: a used code was offered again for %r", username)
            return False
        self._last_step[username] = step
        return True

    def _forget_expired(self) -> None:
        now = self.clock()
        for token in [t for t, h in self._half.items() if h.expires <= now]:
            del self._half[token]
        for key in [k for k, (_s, e) in self._enrolling.items() if e <= now]:
            del self._enrolling[key]


SECOND_FACTORS_KEY = web.AppKey("second-factors", SecondFactors)


def provisioning_uri(account: Account, secret: str) -> str:
    """The otpauth:// address an authenticator app reads (from the QR code or typed)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name=ISSUER)


async def second_factor_step(
    request: web.Request, account: Account, target: str
) -> web.StreamResponse:
    """Called by sign-in once the password was right: raises the redirect to the code form."""
    token = request.config_dict[SECOND_FACTORS_KEY].begin(account, target)
    redirect = web.HTTPSeeOther(TOTP_PATH)
    redirect.set_cookie(
        TOTP_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        path=TOTP_PATH,
        max_age=HALF_SIGNED_IN_SECONDS,
    )
    raise redirect


def _half_signed_in(request: web.Request) -> HalfSignedIn | None:
    token = request.cookies.get(TOTP_COOKIE, "")
    return request.config_dict[SECOND_FACTORS_KEY].half_signed_in(token)


def _start_again() -> web.HTTPSeeOther:
    """Back to the password (the half sign-in is gone or was never there)."""
    redirect = web.HTTPSeeOther("/signin")
    redirect.del_cookie(TOTP_COOKIE, path=TOTP_PATH)
    return redirect


async def code_page(request: web.Request) -> web.StreamResponse:
    if signed_in(request) is not None:
        raise web.HTTPSeeOther(HOME)
    if _half_signed_in(request) is None:
        raise _start_again()
    return render(request, "security/totp.html", form=Form(), message="")


async def check_code(request: web.Request) -> web.StreamResponse:
    # Imported here: signin imports this module for second_factor_step.
    from .signin import THROTTLE_KEY

    half = _half_signed_in(request)
    if half is None:
        raise _start_again()
    factors = request.config_dict[SECOND_FACTORS_KEY]
    throttle = request.config_dict[THROTTLE_KEY]
    address = source_address(request)
    form = Form(await request.post())
    wait = throttle.wait(half.username, address)
    if wait > 0:
        message = gettext(
            "Too many failed attempts. Try again in %(s)s seconds.", s=max(1, round(wait))
        )
        return render(request, "security/totp.html", 429, form=form, message=message)
    account = await request.config_dict[CONTEXT_KEY].accounts.get(half.username)
    secret = account.totp_secret if account is not None else ""
    if account is None or not factors.accept(account.username, secret, form.raw("code")):
        throttle.failed(half.username, address)
        half.wrong_codes += 1
        if half.wrong_codes >= CODE_ATTEMPTS:
            factors.end(request.cookies.get(TOTP_COOKIE, ""))
            raise _start_again()
        message = gettext("This code is wrong or has been used. Enter the current one.")
        return render(request, "security/totp.html", 401, form=form, message=message)
    throttle.succeeded(half.username)
    factors.end(request.cookies.get(TOTP_COOKIE, ""))
    response = await open_session(request, account, half.target)
    response.del_cookie(TOTP_COOKIE, path=TOTP_PATH)
    if isinstance(response, web.HTTPException):  # raised, as aiohttp wants of its redirects
        raise response
    return response


def setup(app: web.Application) -> None:
    app[SECOND_FACTORS_KEY] = SecondFactors()
    app.router.add_get(TOTP_PATH, code_page)
    app.router.add_post(TOTP_PATH, check_code)

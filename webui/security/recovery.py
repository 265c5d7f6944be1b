"""The "forgot password" flow: a single-use link, valid 30 minutes, mailed to the account.

The form answers the same whatever was typed, and answers at once: the account is looked up
and the mail sent after the answer, so neither the words nor the time tell which names or
addresses have an account. Requests are limited per source address (answered "too many") and
mails per account (silently: the owner's mailbox is not to be flooded). The reset page sets
the new password once and ends every session of the account; a second factor stays on, so a
mailbox alone does not open the console.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from aiohttp import web

from gateway.identity.accounts import Account, AccountError
from gateway.runtime.mail import Mail, MailError
from gateway.tasks import TaskKeeper

from ..context import CONTEXT_KEY, WebContext
from ..forms import EMAIL_RE, Form
from ..i18n import gettext
from ..pages import render
from .sessions import source_address
from .signin import THROTTLE_KEY

log = logging.getLogger(__name__)

RESET_VALID = timedelta(minutes=30)
ADDRESS_REQUESTS = (5, 15 * 60.0)  # at most this many requests per window, per address
ACCOUNT_MAILS = (3, 60 * 60.0)  # at most this many links mailed per window, per account
TOKEN_MAX = 100


@dataclass
class RequestLimit:
    """Sliding-window counts of recent requests per key, in memory."""

    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, deque[float]] = field(default_factory=dict)

    def allow(self, key: str, limit: tuple[int, float]) -> bool:
        count, window = limit
        now = self.clock()
        if len(self._seen) > 10_000:
            self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < window}
        times = self._seen.setdefault(key, deque())
        while times and now - times[0] >= window:
            times.popleft()
        if len(times) >= count:
            return False
        times.append(now)
        return True


@dataclass
class Recovery:
    limits: RequestLimit = field(default_factory=RequestLimit)
    tasks: TaskKeeper = field(default_factory=TaskKeeper)


RECOVERY_KEY = web.AppKey("password-recovery", Recovery)


async def forgot_page(request: web.Request) -> web.Response:
    return render(
        request,
        "security/forgot.html",
        form=Form(),
        message="",
        sent=request.query.get("sent") == "1",
        done=request.query.get("done") == "1",
    )


async def forgot(request: web.Request) -> web.StreamResponse:
    recovery = request.config_dict[RECOVERY_KEY]
    form = Form(await request.post())
    who = form.text("who", required=True)
    if not form.ok:
        return render(
            request, "security/forgot.html", 400, form=form, message="", sent=False, done=False
        )
    address = source_address(request)
    if not recovery.limits.allow(f"address:{address}", ADDRESS_REQUESTS):
        log.warning("password reset requests throttled from %s", address)
        message = gettext("Too many requests from your address. Try again later.")
        return render(
            request, "security/forgot.html", 429, form=form, message=message, sent=False, done=False
        )
    context = request.config_dict[CONTEXT_KEY]
    origin = context.config.web.public_url.rstrip("/") or str(request.url.origin())
    recovery.tasks.spawn(_mail_link(context, recovery, origin, who), "password reset mail")
    raise web.HTTPSeeOther("/forgot?sent=1")


async def _find(context: WebContext, who: str) -> Account | None:
    account = await context.accounts.get(who)
    if account is None and "@" in who:
        account = await context.accounts.by_email(who)
    return account


async def _mail_link(context: WebContext, recovery: Recovery, origin: str, who: str) -> None:
    """Runs after the answer (in the requester's language: the task copies its context)."""
    account = await _find(context, who)
    if account is None or not EMAIL_RE.match(account.email):
        log.info("password reset asked for %r: no account with an address matches", who)
        return
    if not recovery.limits.allow(f"account:{account.username}", ACCOUNT_MAILS):
        log.warning("password reset for %s: too many links mailed lately", account.username)
        return
    token = await context.accounts.create_reset(account, RESET_VALID)
    minutes = int(RESET_VALID.total_seconds() // 60)
    link = f"{origin}/reset/{token}"
    body = gettext(
        "Someone, hopefully you, asked to set a new password for the printgate console account"
        " %(user)s.\n\nTo choose a new password, open this link within %(minutes)s minutes:"
        "\n\n%(link)s\n\nThe link works once. If you did not ask, ignore this mail: your"
        " password stays as it is.\n",
        user=account.username,
        minutes=minutes,
        link=link,
    )
    mail = Mail((account.email,), gettext("printgate: set a new password"), body)
    try:
        await (await context.mailer()).send(mail)
    except MailError as exc:
        log.warning("password reset for %s: %s", account.username, exc)
        return
    log.info("password reset link mailed for %s", account.username)


def _token(request: web.Request) -> str:
    token = request.match_info["token"]
    return token if len(token) <= TOKEN_MAX else ""


def _link_spent(request: web.Request) -> web.Response:
    return render(request, "security/reset.html", 410, form=Form(), expired=True, username="")


async def reset_page(request: web.Request) -> web.Response:
    account = await request.config_dict[CONTEXT_KEY].accounts.reset_account(_token(request))
    if account is None:
        return _link_spent(request)
    return render(
        request, "security/reset.html", form=Form(), expired=False, username=account.username
    )


async def reset(request: web.Request) -> web.StreamResponse:
    accounts = request.config_dict[CONTEXT_KEY].accounts
    token = _token(request)
    account = await accounts.reset_account(token)
    if account is None:
        return _link_spent(request)
    form = Form(await request.post())
    password = form.password("password", confirm="confirm")
    if not form.ok:
        return render(
            request,
            "security/reset.html",
            400,
            form=form,
            expired=False,
            username=account.username,
        )
    try:
        await accounts.use_reset(token, password)
    except AccountError:  # spent by another request since the check above
        return _link_spent(request)
    log.info("password reset through a mailed link for %s", account.username)
    # Whoever reads the account's mail may sign in again at once, even if an attacker's
    # guesses had locked the name out.
    request.config_dict[THROTTLE_KEY].succeeded(account.username)
    raise web.HTTPSeeOther("/forgot?done=1")


async def _stop_mailing(app: web.Application) -> None:
    await app[RECOVERY_KEY].tasks.cancel_all()


def setup(app: web.Application) -> None:
    app[RECOVERY_KEY] = Recovery()
    app.on_cleanup.append(_stop_mailing)
    app.router.add_get("/forgot", forgot_page)
    app.router.add_post("/forgot", forgot)
    app.router.add_get("/reset/{token}", reset_page)
    app.router.add_post("/reset/{token}", reset)

"""What My printing's pages share: who may see and act on a held job, the throttle, the page
address (for its QR code), and the person's groups."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import segno
from aiohttp import web

from gateway.accounting.lists import Lists
from gateway.config import QueueConfig
from gateway.identity.release import held_for_credentials
from gateway.jobs.record import Job

from ..context import CONTEXT_KEY, WebContext
from ..pages import render
from ..security import signin
from ..security.sessions import source_address
from ..security.throttle import Throttle
from .people import Person, signed_person

HOME = "/me/"
# Modes in which a name means someone: a queue in mode "none" has nobody to sign in as.
SIGN_IN_MODES = ("username", "list", "list-password", "password", "directory")
LISTED_MODES = ("list", "list-password", "password")


def context(request: web.Request) -> WebContext:
    return request.config_dict[CONTEXT_KEY]


def throttle(request: web.Request) -> Throttle:
    """The console's: a person's failures and an address's count across both sign-ins."""
    return request.config_dict[signin.THROTTLE_KEY]


def throttle_account(name: str) -> str:
    return f"print:{name}"


def queues_to_sign_in(request: web.Request) -> list[QueueConfig]:
    return [v.queue for v in context(request).queues.values() if v.queue.auth in SIGN_IN_MODES]


def from_here(request: web.Request, job: Job) -> bool:
    """The job came from the address this request comes from (its client's own machine)."""
    return bool(job.origin_host) and job.origin_host == source_address(request)


def may_claim(request: web.Request, person: Person | None, job: Job) -> bool:
    """A held job is the person's to claim (or cancel): on a queue their sign-in proved them
    on, and theirs by name or sent from where they are now."""
    if person is None or not held_for_credentials(job) or job.queue not in person.queues:
        return False
    return job.user == person.name or from_here(request, job)


def visible_held(request: web.Request, person: Person | None, held: Iterable[Job]) -> list[Job]:
    """Held jobs this visitor may see: those sent from their address (without sign-in, too),
    and a signed-in person's own."""
    return [j for j in held if from_here(request, j) or may_claim(request, person, j)]


def page_url(request: web.Request, path: str) -> str:
    """The absolute address of a page, as phones should open it ([web] public_url if set)."""
    public = context(request).config.web.public_url.rstrip("/")
    return f"{public or f'{request.scheme}://{request.host}'}{path}"


def qr_svg(text: str) -> str:
    """A QR code drawn on the server, as an SVG data URI (the CSP allows data: images)."""
    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=4))


def render_page(request: web.Request, name: str, status: int = 200, **values: Any) -> web.Response:
    """A My printing page: with the signed-in person (or None) for its header."""
    values.setdefault("person", signed_person(request))
    return render(request, name, status, **values)


async def still_listed(request: web.Request, person: Person, queue: QueueConfig) -> bool:
    """Whether the person is still an enabled user of the queue's list, where its mode asks
    for one: a session outlives nothing the console changes since the sign-in."""
    if queue.auth not in LISTED_MODES:
        return True
    entry = await Lists(context(request).store).get("user", queue.name, person.name)
    return entry is not None and entry.enabled

"""What the jobs pages share: the context's job parts, the signed-in account, a job by its id."""

from __future__ import annotations

from aiohttp import web

from gateway.identity.accounts import Account
from gateway.jobs.record import Job
from gateway.server.job_feed import JobFeed

from ...i18n import gettext
from ..common import account as account
from ..common import context as context


def feed(request: web.Request) -> JobFeed:
    found = context(request).job_feed
    if found is None:
        raise web.HTTPServiceUnavailable(text=gettext("The live view is not served here."))
    return found


def require_admin(request: web.Request) -> Account:
    """Changes to a job's record are the administrators'; bookkeepers read."""
    signed = account(request)
    if signed.role != "admin":
        raise web.HTTPForbidden(text=gettext("Only administrators may change a job."))
    return signed


async def job_or_404(request: web.Request) -> Job:
    find = context(request).find_job
    job = await find(int(request.match_info["job_id"])) if find is not None else None
    if job is None:
        raise web.HTTPNotFound(text=gettext("No such job."))
    return job

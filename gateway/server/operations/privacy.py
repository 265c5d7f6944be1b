"""Privacy between users over IPP: who is asking, what of a job they may see, and whether they
may act on it.

Who asks:
- HTTP Basic credentials of a console administrator (the web console's accounts, role admin)
  make an administrator, on every queue: they see and act on every job. IPP clients send
  credentials after a 401, which printgate sends on the queues that ask for passwords and when
  an unauthenticated request tries to act on another user's job there; clients that send
  credentials unasked (scripts, the tests) are administrators on any queue.
- On queues that ask for a password (password, list-password, directory) only credentials the
  queue accepts name a user; without them the asker is nobody in particular.
- On the others (none, username, list) the asker is who the request says it is: HTTP Basic user,
  else requesting-user-name, else "anonymous", as for the job-creating operations.

What they see (CUPS' JobPrivateValues default, less the user name): another user's job-name,
document names and job-originating-host-name are left out of Get-Jobs and Get-Job-Attributes.

What they may do: Cancel-Job, Hold-Job, Release-Job and Set-Job-Attributes on another user's job
are refused with client-error-forbidden when the asker is authenticated as someone else, and
with client-error-not-authorized when not authenticated (on password queues an HTTP 401 first,
so that a client holding an administrator's password can answer it).

Checking a password costs a slow hash: a check is remembered for a minute.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from ...identity.accounts import Accounts
from ...identity.protocol import DirectoryUnavailable
from ...ipp import Status
from ...jobs.record import Job
from ..queue_attrs import QueueView
from .core import AuthenticationRequired, Gateway, IppError, IppRequest, requesting_user

PASSWORD_MODES = frozenset({"password", "list-password", "directory"})
REMEMBER_SECONDS = 60.0
REMEMBER_LIMIT = 1024


@dataclass(frozen=True)
class Requester:
    name: str  # "" when the asker is nobody in particular
    authenticated: bool = False
    admin: bool = False

    def owns(self, job: Job) -> bool:
        return self.admin or not job.user or (bool(self.name) and self.name == job.user)


_checked: dict[tuple[int, str, str, str], tuple[float, Requester]] = {}


async def requester(gw: Gateway, request: IppRequest, queue: QueueView) -> Requester:
    user, password = request.http_user, request.http_password
    needs_password = queue.queue.auth in PASSWORD_MODES
    if not user or password is None:
        return Requester("") if needs_password else Requester(requesting_user(request))
    digest = hashlib.sha256(password.encode("utf-8", "surrogatepass")).hexdigest()
    key = (id(gw), queue.name, user, digest)
    now = time.monotonic()
    remembered = _checked.get(key)
    if remembered is not None and remembered[0] > now:
        return remembered[1]
    found = await _check(gw, queue, user, password, needs_password)
    if len(_checked) >= REMEMBER_LIMIT:
        _checked.clear()
    _checked[key] = (now + REMEMBER_SECONDS, found)
    return found


async def _check(
    gw: Gateway, queue: QueueView, user: str, password: str, needs_password: bool
) -> Requester:
    account = await Accounts(gw.jobs.store).check_password(user, password)
    if account is not None and account.is_admin:
        return Requester(user, authenticated=True, admin=True)
    if not needs_password:
        return Requester(user)  # the queue checks no passwords: as good as requesting-user-name
    if queue.queue.auth == "directory":
        if gw.gate.directory is None:
            return Requester("")
        try:
            found = await gw.gate.directory.authenticate(user, password)
        except DirectoryUnavailable:
            return Requester("")
        return Requester(found.username, authenticated=True) if found else Requester("")
    check = await gw.gate.identity.check_user(queue.name, user, password)
    return Requester(check.name, authenticated=True) if check.ok else Requester("")


async def authorize(gw: Gateway, request: IppRequest, queue: QueueView, job: Job) -> Requester:
    """The asker, if they may act on `job`; else the refusal."""
    asker = await requester(gw, request, queue)
    if asker.owns(job):
        return asker
    if asker.authenticated:
        raise IppError(Status.FORBIDDEN, f"job {job.id} belongs to another user")
    if queue.queue.auth in PASSWORD_MODES:
        raise AuthenticationRequired(f"printgate {queue.name}", "user name and password required")
    raise IppError(Status.NOT_AUTHORIZED, f"job {job.id} belongs to another user")

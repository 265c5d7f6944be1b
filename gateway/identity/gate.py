"""The credential gate: may this job print, and who, which project and which department is it
charged to? The queue's auth mode (HP SmartTracker's) says what must be checked; the identity
sources say whether it checks out. No job reaches a printer before the gate accepts it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from ..config import QueueConfig
from .protocol import Check, Directory, DirectoryUnavailable, Identity, Verdict

UNKNOWN = "Unknown"  # recorded when a backend is down and the job prints anyway
INFO_NEEDED = "account-info-needed"
AUTH_FAILED = "account-authorization-failed"
MAX_NAME = 100


class Outcome(enum.Enum):
    ACCEPT = "accept"
    CHALLENGE = "challenge"  # ask the client for HTTP Basic credentials (401)
    HOLD = "hold"  # keep the job, unprinted, until someone supplies what is missing


@dataclass(frozen=True)
class Presented:
    """Everything a request (or a claim in My printing) offers as credentials."""

    http_user: str | None = None
    http_password: str | None = None
    requesting_user: str | None = None
    accounting_user: str | None = None  # job-accounting-user-id
    pin: str | None = None  # job-password
    account_id: str | None = None  # job-account-id: "project" or "project/department"
    project_password: str | None = None
    department_password: str | None = None
    can_challenge: bool = True  # an IPP client can answer a 401; My printing cannot
    # Who My printing's sign-in already proved (for this queue): a web claim or web print.
    # Never set from a client's request.
    proven_user: str | None = None

    @property
    def claimed_user(self) -> str:
        return (
            self.proven_user or self.http_user or self.accounting_user or self.requesting_user or ""
        ).strip()

    def account(self) -> tuple[str, str]:
        project, _, department = (self.account_id or "").partition("/")
        return project.strip()[:MAX_NAME], department.strip()[:MAX_NAME]


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    user: str = ""
    project: str = ""
    department: str = ""
    reason: str = ""  # INFO_NEEDED or AUTH_FAILED when held
    message: str = ""
    unknown: bool = False  # accepted as "Unknown" because a backend was down

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPT


def _hold(reason: str, message: str, user: str = "") -> Decision:
    return Decision(Outcome.HOLD, user=user, reason=reason, message=message)


class Gate:
    def __init__(self, identity: Identity, directory: Directory | None = None):
        self.identity = identity
        self.directory = directory

    async def decide(self, queue: QueueConfig, presented: Presented, graceful: bool) -> Decision:
        """graceful: the queue's printer prints as "Unknown" when a backend is down."""
        who = await self._user(queue, presented)
        if who.outcome is not Outcome.ACCEPT:
            return self._failover(who, graceful)
        accounts = await self._accounts(queue, presented)
        if accounts.outcome is not Outcome.ACCEPT:
            return self._failover(replace(accounts, user=who.user), graceful)
        return replace(accounts, user=who.user, unknown=who.unknown)

    async def identify(self, queue: QueueConfig, name: str, password: str | None) -> Decision:
        """Who these credentials prove on this queue, by its mode (My printing's sign-in):
        accepted, or held with the reason; never a challenge, never "Unknown"."""
        decision = await self._user(
            queue, Presented(http_user=name, http_password=password, can_challenge=False)
        )
        if decision.unknown:
            return replace(decision, outcome=Outcome.HOLD)
        return decision

    # --- who --------------------------------------------------------------------------------

    async def _user(self, queue: QueueConfig, presented: Presented) -> Decision:
        name = presented.claimed_user[:MAX_NAME]
        mode = queue.auth
        if presented.proven_user:
            return Decision(Outcome.ACCEPT, user=name)
        if mode == "none":
            return Decision(Outcome.ACCEPT, user=name or "anonymous")
        if mode == "username":
            if not name:
                return _hold(INFO_NEEDED, "This queue needs a user name")
            return Decision(Outcome.ACCEPT, user=name)
        if mode == "list":
            return self._judged(await self.identity.check_user(queue.name, name, None), presented)
        password = presented.http_password if presented.http_user else presented.pin
        if not name or password is None:
            if presented.can_challenge:
                return Decision(Outcome.CHALLENGE, message="user name and password required")
            return _hold(INFO_NEEDED, "This queue needs a user name and password")
        if mode == "directory":
            return await self._directory(name, password, presented)
        return self._judged(await self.identity.check_user(queue.name, name, password), presented)

    async def _directory(self, name: str, password: str, presented: Presented) -> Decision:
        if self.directory is None:
            return _hold(INFO_NEEDED, "No directory is configured for this queue", name)
        try:
            found = await self.directory.authenticate(name, password)
        except DirectoryUnavailable as exc:
            return Decision(
                Outcome.HOLD,
                user=name,
                reason=INFO_NEEDED,
                message=f"The directory is unreachable: {exc}",
                unknown=True,
            )
        if found is None:
            return self._refused(name, "wrong user name or password", presented)
        return Decision(Outcome.ACCEPT, user=found.username)

    def _judged(self, check: Check, presented: Presented) -> Decision:
        if check.ok:
            return Decision(Outcome.ACCEPT, user=check.name)
        if check.verdict is Verdict.UNAVAILABLE:
            return Decision(
                Outcome.HOLD,
                user=check.name,
                reason=INFO_NEEDED,
                message=check.detail,
                unknown=True,
            )
        if check.verdict is Verdict.DISABLED:
            # A 401 would only make the client ask again; say plainly why instead.
            return _hold(AUTH_FAILED, f"Refused: {check.detail}", check.name)
        return self._refused(check.name, check.detail, presented)

    @staticmethod
    def _refused(name: str, detail: str, presented: Presented) -> Decision:
        if presented.http_user and presented.can_challenge:
            return Decision(Outcome.CHALLENGE, message=detail)
        return _hold(AUTH_FAILED, f"Refused: {detail}", name)

    # --- charged to -------------------------------------------------------------------------

    async def _accounts(self, queue: QueueConfig, presented: Presented) -> Decision:
        project, department = presented.account()
        values = {"project": project, "department": department}
        passwords = {
            "project": presented.project_password,
            "department": presented.department_password,
        }
        missing = [kind for kind in queue.require if not values[kind]]
        if missing:
            return _hold(
                INFO_NEEDED,
                f"This queue needs a {' and a '.join(missing)}: print with job-account-id="
                f"PROJECT/DEPARTMENT or claim the job in My printing",
            )
        for kind in queue.require:
            check = await self.identity.check_account(
                queue.name, kind, values[kind], passwords[kind]
            )
            if check.verdict is Verdict.UNAVAILABLE:
                return Decision(
                    Outcome.HOLD, reason=INFO_NEEDED, message=check.detail, unknown=True
                )
            if check.verdict is Verdict.PASSWORD_NEEDED:
                return _hold(INFO_NEEDED, f"{check.detail}: claim the job in My printing")
            if not check.ok:
                return _hold(AUTH_FAILED, f"Refused: {check.detail}")
        return Decision(Outcome.ACCEPT, project=project, department=department)

    # --- backends down ----------------------------------------------------------------------

    @staticmethod
    def _failover(decision: Decision, graceful: bool) -> Decision:
        """A hold caused by an unreachable store or directory: with graceful failover the job
        prints as Unknown; without, it stays held until the backend is back."""
        if not decision.unknown:
            return decision
        if graceful:
            return Decision(
                Outcome.ACCEPT,
                user=UNKNOWN,
                project=UNKNOWN,
                department=UNKNOWN,
                message=decision.message,
                unknown=True,
            )
        return replace(decision, message=f"{decision.message}; held until it is back")

"""Credential checks against printgate's own lists of queue users, projects and departments."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ..accounting.lists import Entry, Kind, Lists
from ..passwords import verify_password
from . import Check, Verdict


class SqlIdentity:
    def __init__(self, lists: Lists):
        self.lists = lists

    async def check_user(self, queue: str, name: str, password: str | None) -> Check:
        # No password given: the mode checks the name only (the list modes without password).
        return await self._check("user", queue, name, password, name_only=password is None)

    async def check_account(self, queue: str, kind: str, name: str, password: str | None) -> Check:
        assert kind in ("project", "department")
        return await self._check(kind, queue, name, password, name_only=False)  # type: ignore[arg-type]

    async def _check(
        self, kind: Kind, queue: str, name: str, password: str | None, name_only: bool
    ) -> Check:
        try:
            entry = await self.lists.get(kind, queue, name)
        except (OperationalError, SQLAlchemyError, OSError) as exc:
            return Check(Verdict.UNAVAILABLE, name, f"the accounting store is unreachable: {exc}")
        return _judge(kind, name, entry, password, name_only)


def _judge(
    kind: str, name: str, entry: Entry | None, password: str | None, name_only: bool
) -> Check:
    if entry is None or entry.status == "removed":
        return Check(Verdict.UNKNOWN, name, f"{name!r} is not a {kind} of this queue")
    if entry.status != "enabled":
        return Check(Verdict.DISABLED, name, f"the {kind} {name!r} is disabled")
    if name_only:
        return Check(Verdict.OK, name)
    if entry.password_hash is None:
        if kind == "user":  # a user signing in with a password must have one
            return Check(Verdict.BAD_PASSWORD, name, f"the {kind} {name!r} has no password set")
        return Check(Verdict.OK, name)
    if password is None:
        return Check(Verdict.PASSWORD_NEEDED, name, f"the {kind} {name!r} needs its password")
    if not verify_password(entry.password_hash, password):
        return Check(Verdict.BAD_PASSWORD, name, f"wrong password for the {kind} {name!r}")
    return Check(Verdict.OK, name)

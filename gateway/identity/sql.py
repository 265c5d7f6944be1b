"""Credential checks against printgate's own lists of queue users, projects and departments."""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from typing import cast

from sqlalchemy.exc import SQLAlchemyError

from ..accounting.lists import Entry, Kind, Lists
from ..runtime.passwords import verify_password
from ..store.store import StoreUnavailable
from .protocol import Check, Verdict


class SqlIdentity:
    def __init__(self, lists: Lists):
        self.lists = lists
        self.verified = VerifiedPasswords()

    async def check_user(self, queue: str, name: str, password: str | None) -> Check:
        # No password given: the mode checks the name only (the list modes without password).
        return await self._check("user", queue, name, password, name_only=password is None)

    async def check_account(self, queue: str, kind: str, name: str, password: str | None) -> Check:
        if kind not in ("project", "department"):
            raise ValueError(f"not an account kind: {kind}")
        return await self._check(cast(Kind, kind), queue, name, password, name_only=False)

    async def _check(
        self, kind: Kind, queue: str, name: str, password: str | None, name_only: bool
    ) -> Check:
        try:
            entry = await self.lists.get(kind, queue, name)
        except (StoreUnavailable, SQLAlchemyError, OSError) as exc:
            return Check(Verdict.UNAVAILABLE, name, f"the accounting store is unreachable: {exc}")
        check = _judge(kind, name, entry, password, name_only)
        if check.verdict is not Verdict.UNCHECKED:
            return check
        assert entry is not None and entry.password_hash is not None and password is not None
        if not await self.verified.check(entry.password_hash, password):
            return Check(Verdict.BAD_PASSWORD, name, f"wrong password for the {kind} {name!r}")
        return Check(Verdict.OK, name)


class VerifiedPasswords:
    """argon2 is slow on purpose (~150 ms here): every job of a password queue would pay it,
    and the event loop with it. A password that verified against a stored hash is remembered
    for a while, as an HMAC under a key that lives only in this process, so a client printing
    many jobs pays once; a miss is verified off the loop. A changed password changes the
    stored hash, so it never matches an old memory."""

    def __init__(self, ttl: float = 600.0, limit: int = 4096):
        self.ttl = ttl
        self.limit = limit
        self._key = secrets.token_bytes(32)
        self._known: dict[tuple[str, bytes], float] = {}

    def _token(self, stored_hash: str, password: str) -> tuple[str, bytes]:
        digest = hmac.new(self._key, password.encode("utf-8", "surrogateescape"), "sha256")
        return stored_hash, digest.digest()

    async def check(self, stored_hash: str, password: str) -> bool:
        token = self._token(stored_hash, password)
        seen = self._known.get(token)
        if seen is not None and time.monotonic() - seen < self.ttl:
            return True
        if not await asyncio.to_thread(verify_password, stored_hash, password):
            return False
        if len(self._known) >= self.limit:
            self._known.clear()
        self._known[token] = time.monotonic()
        return True


def _judge(
    kind: str, name: str, entry: Entry | None, password: str | None, name_only: bool
) -> Check:
    """Everything but the password hash itself (UNCHECKED: that is still to verify)."""
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
    return Check(Verdict.UNCHECKED, name)

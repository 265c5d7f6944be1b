"""Console accounts (administrators and bookkeepers) and their sessions.

One module owns them for the CLI and the web console alike, so the rules hold whichever way a
change comes: every change is audited in its own transaction, changing a password or a role
ends the account's other sessions, and the last administrator can be neither removed nor
demoted. Session and reset tokens are random; the store keeps only their SHA-256.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..runtime.passwords import hash_password, verify_password
from ..store.audit import Actor, record
from ..store.models import AppUserRow, ConsoleSessionRow, PasswordResetRow
from ..store.store import Store, now

ROLES = ("admin", "bookkeeper")
ROLE_NAMES = {"admin": "administrator", "bookkeeper": "bookkeeper"}
MIN_PASSWORD = 10
SEEN_EVERY = timedelta(seconds=30)  # a session's last use is written at most this often


class AccountError(ValueError):
    """A change refused, in words for the person who asked (CLI line or form message)."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str
    email: str
    first_name: str
    last_name: str
    must_change_password: bool
    totp_secret: str
    language: str
    created_at: datetime

    @property
    def full_name(self) -> str:
        return " ".join(x for x in (self.first_name, self.last_name) if x)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class SignedIn:
    """A live session: its account and the CSRF token its forms carry."""

    account: Account
    token_hash: str
    csrf_token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")


def _account(row: AppUserRow) -> Account:
    first, last = row.first_name, row.last_name
    if not first and not last and row.full_name:  # accounts from before the split
        first, _, last = row.full_name.partition(" ")
    return Account(
        id=row.id,
        username=row.username,
        role=row.role,
        email=row.email,
        first_name=first,
        last_name=last,
        must_change_password=row.must_change_password,
        totp_secret=row.totp_secret,
        language=row.language,
        created_at=row.created_at,
    )


def _public(row: AppUserRow) -> dict[str, str]:
    """What the audit log shows of an account (never its password or second factor)."""
    return {
        "role": row.role,
        "email": row.email,
        "first_name": row.first_name,
        "last_name": row.last_name,
    }


def _row(session: Session, username: str) -> AppUserRow:
    row = session.scalar(select(AppUserRow).where(AppUserRow.username == username))
    if row is None:
        raise AccountError(f"no console account named {username!r}")
    return row


def _guard_last_admin(session: Session, row: AppUserRow) -> None:
    if row.role != "admin":
        return
    admins = session.scalar(
        select(func.count()).select_from(AppUserRow).where(AppUserRow.role == "admin")
    )
    if (admins or 0) <= 1:
        raise AccountError(f"{row.username} is the last administrator")


def _end_sessions(session: Session, user_id: int, keep: str | None = None) -> None:
    query = delete(ConsoleSessionRow).where(ConsoleSessionRow.user_id == user_id)
    if keep is not None:
        query = query.where(ConsoleSessionRow.token_hash != keep)
    session.execute(query)


def _change_details(
    session: Session, actor: Actor, row: AppUserRow, email: str, first_name: str, last_name: str
) -> None:
    before = _public(row)
    row.email, row.first_name, row.last_name = email, first_name, last_name
    row.full_name = " ".join(x for x in (first_name, last_name) if x)
    if _public(row) != before:
        record(session, actor, "account.edit", row.username, before, _public(row))


def _change_password(
    session: Session,
    actor: Actor,
    row: AppUserRow,
    password_hash: str,
    must_change: bool,
    keep_session: str | None,
) -> None:
    row.password_hash = password_hash
    row.must_change_password = must_change
    _end_sessions(session, row.id, keep=keep_session)
    record(session, actor, "account.password", row.username, None, {"password": "(changed)"})


def _change_role(session: Session, actor: Actor, row: AppUserRow, role: str) -> None:
    """A new role ends the account's sessions (what it may do changed under them)."""
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    if row.role == role:
        return
    if role != "admin":
        _guard_last_admin(session, row)
    before = {"role": row.role}
    row.role = role
    _end_sessions(session, row.id)
    record(session, actor, "account.role", row.username, before, {"role": role})


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    lifetime: timedelta


class Accounts:
    def __init__(self, store: Store):
        self.store = store

    # --- reading --------------------------------------------------------------------------

    async def everyone(self) -> list[Account]:
        async def fn(session: AsyncSession) -> list[Account]:
            rows = await session.scalars(select(AppUserRow).order_by(AppUserRow.username))
            return [_account(row) for row in rows]

        return await self.store.read(fn)

    async def get(self, username: str) -> Account | None:
        async def fn(session: AsyncSession) -> Account | None:
            row = await session.scalar(select(AppUserRow).where(AppUserRow.username == username))
            return None if row is None else _account(row)

        return await self.store.read(fn)

    async def by_email(self, email: str) -> Account | None:
        async def fn(session: AsyncSession) -> Account | None:
            query = select(AppUserRow).where(func.lower(AppUserRow.email) == email.lower())
            row = (await session.scalars(query)).first()
            return None if row is None else _account(row)

        return await self.store.read(fn)

    async def check_password(self, username: str, password: str) -> Account | None:
        """The account when the password is its own. An unknown name costs the same hashing
        time as a wrong password, so timing tells nothing about which names exist."""

        async def fn(session: AsyncSession) -> AppUserRow | None:
            return await session.scalar(select(AppUserRow).where(AppUserRow.username == username))

        row = await self.store.read(fn)
        stored = row.password_hash if row is not None else _dummy_hash()
        ok = await asyncio.to_thread(verify_password, stored, password)
        return _account(row) if ok and row is not None else None

    # --- changing -------------------------------------------------------------------------

    async def add(
        self,
        actor: Actor,
        username: str,
        password: str,
        role: str,
        email: str,
        first_name: str = "",
        last_name: str = "",
        must_change_password: bool = False,
    ) -> None:
        if role not in ROLES:
            raise AccountError(f"the role must be one of {', '.join(ROLES)}")
        password_hash = await asyncio.to_thread(hash_password, password)

        def fn(session: Session) -> None:
            if session.scalar(select(AppUserRow.id).where(AppUserRow.username == username)):
                raise AccountError(f"a console account named {username!r} exists already")
            row = AppUserRow(
                username=username,
                password_hash=password_hash,
                role=role,
                email=email,
                full_name=" ".join(x for x in (first_name, last_name) if x),
                first_name=first_name,
                last_name=last_name,
                must_change_password=must_change_password,
                created_at=now(),
            )
            session.add(row)
            record(session, actor, "account.add", username, None, _public(row))

        await self.store.write(fn)

    async def update(
        self, actor: Actor, username: str, email: str, first_name: str, last_name: str
    ) -> None:
        await self.store.write(
            lambda session: _change_details(
                session, actor, _row(session, username), email, first_name, last_name
            )
        )

    async def set_password(
        self,
        actor: Actor,
        username: str,
        password: str,
        must_change: bool = False,
        keep_session: str | None = None,
    ) -> None:
        """A new password ends every other session of the account (all of them, from the CLI
        or when an administrator sets it)."""
        password_hash = await asyncio.to_thread(hash_password, password)
        await self.store.write(
            lambda session: _change_password(
                session, actor, _row(session, username), password_hash, must_change, keep_session
            )
        )

    async def set_role(self, actor: Actor, username: str, role: str) -> None:
        await self.store.write(
            lambda session: _change_role(session, actor, _row(session, username), role)
        )

    async def edit(
        self,
        actor: Actor,
        username: str,
        *,
        email: str,
        first_name: str,
        last_name: str,
        role: str,
        password: str | None = None,
        must_change: bool = False,
    ) -> None:
        """An administrator's edit of another account, in one transaction: role, details and
        (when given) a new password; a refused role change saves nothing."""
        password_hash = await asyncio.to_thread(hash_password, password) if password else None

        def fn(session: Session) -> None:
            row = _row(session, username)
            _change_role(session, actor, row, role)
            _change_details(session, actor, row, email, first_name, last_name)
            if password_hash is not None:
                _change_password(session, actor, row, password_hash, must_change, None)

        await self.store.write(fn)

    async def remove(self, actor: Actor, username: str) -> None:
        def fn(session: Session) -> None:
            row = _row(session, username)
            _guard_last_admin(session, row)
            before = _public(row)
            _end_sessions(session, row.id)
            session.execute(delete(PasswordResetRow).where(PasswordResetRow.user_id == row.id))
            session.delete(row)
            record(session, actor, "account.remove", username, before, None)

        await self.store.write(fn)

    async def set_totp(self, actor: Actor, username: str, secret: str) -> None:
        """Turn the second factor on (a base32 secret) or off (empty)."""

        def fn(session: Session) -> None:
            row = _row(session, username)
            was = bool(row.totp_secret)
            row.totp_secret = secret
            record(session, actor, "account.totp", username, {"on": was}, {"on": bool(secret)})

        await self.store.write(fn)

    async def set_language(self, actor: Actor, username: str, language: str) -> None:
        def fn(session: Session) -> None:
            row = _row(session, username)
            before = {"language": row.language}
            row.language = language
            record(session, actor, "account.language", username, before, {"language": language})

        await self.store.write(fn)

    # --- sessions -------------------------------------------------------------------------

    async def open_session(self, account: Account, address: str) -> tuple[str, SignedIn]:
        """A new session: the token for the cookie, and the session it opens."""
        token = secrets.token_urlsafe(32)
        signed = SignedIn(account, token_hash(token), secrets.token_urlsafe(32))

        def fn(session: Session) -> None:
            at = now()
            session.add(
                ConsoleSessionRow(
                    token_hash=signed.token_hash,
                    user_id=account.id,
                    csrf_token=signed.csrf_token,
                    created_at=at,
                    seen_at=at,
                    address=address[:64],
                )
            )

        await self.store.write(fn)
        return token, signed

    async def session(self, token: str, policy: SessionPolicy) -> SignedIn | None:
        """The live session this cookie token opens, or None: unknown, ended, idle too long
        or past its lifetime (an expired one is deleted)."""
        hashed = token_hash(token)

        async def fn(session: AsyncSession) -> tuple[ConsoleSessionRow, AppUserRow] | None:
            query = (
                select(ConsoleSessionRow, AppUserRow)
                .join(AppUserRow, AppUserRow.id == ConsoleSessionRow.user_id)
                .where(ConsoleSessionRow.token_hash == hashed)
            )
            row = (await session.execute(query)).first()
            return None if row is None else (row[0], row[1])

        found = await self.store.read(fn)
        if found is None:
            return None
        row, user = found
        at = now()
        if at - row.seen_at > policy.idle or at - row.created_at > policy.lifetime:
            await self.end_session(hashed)
            return None
        if at - row.seen_at > SEEN_EVERY:

            def touch(session: Session) -> None:
                live = session.get(ConsoleSessionRow, hashed)
                if live is not None:
                    live.seen_at = at

            await self.store.write(touch)
        return SignedIn(_account(user), hashed, row.csrf_token)

    async def end_session(self, hashed: str) -> None:
        def fn(session: Session) -> None:
            session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.token_hash == hashed))

        await self.store.write(fn)

    # --- "forgot password" ----------------------------------------------------------------

    async def create_reset(self, account: Account, valid_for: timedelta) -> str:
        token = secrets.token_urlsafe(32)

        def fn(session: Session) -> None:
            session.add(
                PasswordResetRow(
                    token_hash=token_hash(token), user_id=account.id, expires_at=now() + valid_for
                )
            )

        await self.store.write(fn)
        return token

    async def reset_account(self, token: str) -> Account | None:
        """The account a reset link is for, while the link is unused and valid."""
        hashed = token_hash(token)

        async def fn(session: AsyncSession) -> Account | None:
            query = (
                select(AppUserRow)
                .join(PasswordResetRow, PasswordResetRow.user_id == AppUserRow.id)
                .where(
                    PasswordResetRow.token_hash == hashed,
                    PasswordResetRow.used_at.is_(None),
                    PasswordResetRow.expires_at > now(),
                )
            )
            row = await session.scalar(query)
            return None if row is None else _account(row)

        return await self.store.read(fn)

    async def use_reset(self, token: str, password: str) -> Account:
        """Set the password through a reset link, once: the link is spent and every session
        of the account ends."""
        hashed = token_hash(token)
        password_hash = await asyncio.to_thread(hash_password, password)

        def fn(session: Session) -> Account:
            reset = session.get(PasswordResetRow, hashed, with_for_update=True)
            if reset is None or reset.used_at is not None or reset.expires_at <= now():
                raise AccountError("this link has expired or has been used; ask for a new one")
            row = session.get(AppUserRow, reset.user_id)
            if row is None:
                raise AccountError("this link's account has been removed")
            reset.used_at = now()
            row.password_hash = password_hash
            row.must_change_password = False
            _end_sessions(session, row.id)
            record(
                session,
                Actor(row.username, "console"),
                "account.password-reset",
                row.username,
                None,
                {"password": "(changed)"},
            )
            return _account(row)

        return await self.store.write(fn)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user name is unknown, so that the answer takes as long."""
    return hash_password(secrets.token_urlsafe(16))

"""Bookkeepers' scopes: the printer groups, projects and departments an administrator lets a
bookkeeper's reports show. Kept per console account (report_scopes); administrators always
see everything. The console's pages, exports, mails and the scheduled reports of an account
all pass `scope_for` to the reports engine, which applies it to every query."""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..reports.scope import EVERYTHING, Scope
from ..store.audit import Actor, record
from ..store.models import AppUserRow
from ..store.report_models import ReportScopeRow
from ..store.store import Store

FIELDS = ("queues", "projects", "departments")


def _load(text: str | None) -> frozenset[str] | None:
    return None if text is None else frozenset(json.loads(text))


def _dump(names: frozenset[str] | None) -> str | None:
    return None if names is None else json.dumps(sorted(names))


def scope_of_row(row: ReportScopeRow | None) -> Scope:
    if row is None:
        return EVERYTHING
    return Scope(_load(row.queues), _load(row.projects), _load(row.departments))


def names_of(text: str) -> frozenset[str] | None:
    """A form's "a, b" as a limit: empty text is no limit."""
    names = frozenset(part.strip() for part in text.replace("\n", ",").split(",") if part.strip())
    return names or None


def shown(names: Iterable[str] | None) -> str:
    return "" if names is None else ", ".join(sorted(names))


async def stored_scope(store: Store, username: str) -> Scope:
    """The limits saved for this account (EVERYTHING when none)."""

    async def fn(session: AsyncSession) -> Scope:
        return scope_of_row(await session.get(ReportScopeRow, username))

    return await store.read(fn)


async def scope_for(store: Store, username: str, role: str) -> Scope:
    """What this console account's reports may show: administrators everything."""
    if role == "admin":
        return EVERYTHING
    return await stored_scope(store, username)


async def owner_scope(store: Store, username: str) -> Scope:
    """The scope of an account by name (a schedule's owner); a removed account's schedules
    show nothing rather than everything."""

    async def fn(session: AsyncSession) -> Scope:
        role = await session.scalar(select(AppUserRow.role).where(AppUserRow.username == username))
        if role is None:
            return Scope(frozenset(), frozenset(), frozenset())
        if role == "admin":
            return EVERYTHING
        return scope_of_row(await session.get(ReportScopeRow, username))

    return await store.read(fn)


async def save_scope(store: Store, actor: Actor, username: str, scope: Scope) -> None:
    """Save (or clear, with EVERYTHING) an account's limits, with its audit entry."""
    after = {name: _dump(getattr(scope, name)) for name in FIELDS}

    def fn(session: Session) -> None:
        row = session.get(ReportScopeRow, username)
        before = {name: getattr(row, name) for name in FIELDS} if row else dict.fromkeys(FIELDS)
        if scope == EVERYTHING:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(ReportScopeRow(username=username, **after))
        else:
            for name, value in after.items():
                setattr(row, name, value)
        if before != after:
            record(session, actor, "account.report_scope", username, before, after)

    await store.write(fn)

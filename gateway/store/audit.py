"""The audit log: every change made in the console or the CLI, who made it, when, to what, and
the values before and after. An entry is written inside the change's own transaction, so a
change is never without its entry, nor an entry without its change."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from .models import AuditRow
from .store import Store, now

SOURCES = ("console", "cli")


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a console account by name, or the operator at the CLI."""

    name: str
    source: str  # console | cli

    @classmethod
    def cli(cls) -> Actor:
        return cls("cli", "cli")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    source: str
    action: str
    target: str
    before: dict[str, Any]
    after: dict[str, Any]


def record(
    session: Session,
    actor: Actor,
    action: str,
    target: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Add an entry to the transaction of the change it describes. Secrets never reach the
    log: callers pass what changed, with passwords as "(changed)"."""
    session.add(
        AuditRow(
            at=now(),
            actor=actor.name,
            source=actor.source,
            action=action,
            target=target,
            before=json.dumps(dict(before), default=str, sort_keys=True) if before else "",
            after=json.dumps(dict(after), default=str, sort_keys=True) if after else "",
        )
    )


async def append(
    store: Store,
    actor: Actor,
    action: str,
    target: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """An entry on its own, for a change made outside the store (a file written, a backup)."""
    await store.write(lambda session: record(session, actor, action, target, before, after))


@dataclass(frozen=True)
class AuditFilter:
    """The audit page's filter; empty fields match everything, text matches in part."""

    actor: str = ""
    action: str = ""
    target: str = ""
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # paging: only entries older than this one


async def entries(store: Store, where: AuditFilter, limit: int = 500) -> list[AuditEntry]:
    """The entries matching the filter, newest first."""
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if where.actor:
        query = query.where(AuditRow.actor.contains(where.actor, autoescape=True))
    if where.action:
        query = query.where(AuditRow.action.contains(where.action, autoescape=True))
    if where.target:
        query = query.where(AuditRow.target.contains(where.target, autoescape=True))
    if where.since is not None:
        query = query.where(AuditRow.at >= where.since)
    if where.until is not None:
        query = query.where(AuditRow.at < where.until)
    if where.before_id is not None:
        query = query.where(AuditRow.id < where.before_id)

    async def fn(session: AsyncSession) -> list[AuditEntry]:
        return [_entry(row) for row in await session.scalars(query)]

    return await store.read(fn)


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        source=row.source,
        action=row.action,
        target=row.target,
        before=json.loads(row.before) if row.before else {},
        after=json.loads(row.after) if row.after else {},
    )

"""Saved custom reports and custom raw data, per console account: a name and a JSON body (a
custom report's dimension, names and panels; a raw design's columns). Each save and removal
goes to the audit log. Names are unique per account and kind."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from gateway.store.audit import Actor, record
from gateway.store.report_models import ReportDesignRow
from gateway.store.store import Store, now


class DesignError(ValueError):
    """A design that cannot be saved (its name is taken)."""


@dataclass(frozen=True)
class Design:
    id: int
    owner: str
    kind: str  # custom | raw
    name: str
    body: dict[str, Any]
    saved_at: datetime


def _design(row: ReportDesignRow) -> Design:
    return Design(row.id, row.owner, row.kind, row.name, json.loads(row.body), row.saved_at)


async def designs(store: Store, owner: str, kind: str) -> list[Design]:
    async def fn(session: AsyncSession) -> list[Design]:
        query = (
            select(ReportDesignRow)
            .where(ReportDesignRow.owner == owner, ReportDesignRow.kind == kind)
            .order_by(ReportDesignRow.name)
        )
        return [_design(row) for row in await session.scalars(query)]

    return await store.read(fn)


async def design(store: Store, owner: str, kind: str, design_id: int) -> Design | None:
    """One of `owner`'s designs; None for another account's (each sees only their own)."""

    async def fn(session: AsyncSession) -> Design | None:
        row = await session.get(ReportDesignRow, design_id)
        if row is None or row.owner != owner or row.kind != kind:
            return None
        return _design(row)

    return await store.read(fn)


async def save_design(
    store: Store,
    actor: Actor,
    kind: str,
    name: str,
    body: dict[str, Any],
    design_id: int | None = None,
) -> int:
    """Save a new design (design_id None) or replace one of the actor's; its id."""
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    owner = actor.name

    def fn(session: Session) -> int:
        taken = session.scalar(
            select(ReportDesignRow.id).where(
                ReportDesignRow.owner == owner,
                ReportDesignRow.kind == kind,
                ReportDesignRow.name == name,
            )
        )
        if taken is not None and taken != design_id:
            raise DesignError(name)
        row = session.get(ReportDesignRow, design_id) if design_id is not None else None
        if row is None or row.owner != owner:
            row = ReportDesignRow(owner=owner, kind=kind, name=name, body=text, saved_at=now())
            session.add(row)
            session.flush()
            record(session, actor, f"report.{kind}.add", name, None, {"id": row.id})
            return row.id
        if row.name != name:
            record(session, actor, f"report.{kind}.rename", row.name, None, {"name": name})
        row.name, row.body, row.saved_at = name, text, now()
        return row.id

    return await store.write(fn)


async def delete_design(store: Store, actor: Actor, kind: str, design_id: int) -> bool:
    def fn(session: Session) -> bool:
        row = session.get(ReportDesignRow, design_id)
        if row is None or row.owner != actor.name or row.kind != kind:
            return False
        record(session, actor, f"report.{kind}.remove", row.name, {"id": row.id}, None)
        session.delete(row)
        return True

    return await store.write(fn)

"""Export all: every job of the period with every column of its record (but the IPP template,
which is binary), read in chunks by id so that a million jobs stream in constant memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..store.models import JobRow
from ..store.store import Store
from .period import Period
from .scope import ALL_PRINTERS, EVERYTHING, Scope, Target

JOBS = cast(Table, JobRow.__table__)
RAW_COLUMNS: tuple[str, ...] = tuple(c.name for c in JOBS.columns if c.name != "template")
CHUNK = 5000


def job_conditions(period: Period, target: Target, scope: Scope) -> list[ColumnElement[bool]]:
    """The jobs that finished in the period on the target, within the scope."""
    start, end = period.utc_bounds()
    where: list[ColumnElement[bool]] = [JobRow.completed_at >= start, JobRow.completed_at < end]
    if target.kind == "group":
        where.append(JobRow.queue == target.name)
    elif target.kind == "printer":
        where.append(JobRow.printer == target.name)
    if scope.queues is not None:
        where.append(JobRow.queue.in_(sorted(scope.queues)))
    if scope.projects is not None:
        where.append(JobRow.project.in_(sorted(scope.projects)))
    if scope.departments is not None:
        where.append(JobRow.department.in_(sorted(scope.departments)))
    return where


async def raw_rows(
    store: Store,
    period: Period,
    target: Target = ALL_PRINTERS,
    scope: Scope = EVERYTHING,
    chunk: int = CHUNK,
) -> AsyncIterator[Sequence[Any]]:
    """Each job's values in RAW_COLUMNS order, oldest id first. Each chunk is its own short
    read, so an export of a year holds no transaction open while a slow client reads."""
    columns = [JOBS.c[name] for name in RAW_COLUMNS]
    where = job_conditions(period, target, scope)
    after = 0
    while True:
        query = (
            select(*columns).where(and_(JobRow.id > after, *where)).order_by(JobRow.id).limit(chunk)
        )

        async def fn(session: AsyncSession, query: Any = query) -> list[Sequence[Any]]:
            return [tuple(row) for row in (await session.execute(query)).all()]

        rows = await store.read(fn)
        for row in rows:
            yield row
        if len(rows) < chunk:
            return
        after = rows[-1][0]  # RAW_COLUMNS starts with id

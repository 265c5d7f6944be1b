"""The live view's query: one page of jobs, newest first, filtered by queue, user, project,
department, state group and creation date, paged by job id (keyset paging: a page deep in a
million jobs costs what the first one does, where OFFSET would read every row before it).

A date range becomes a range of job ids first: ids grow with creation time, so a binary search
over the primary key (a few dozen point reads) finds where a day starts, and every query is
then a walk of one index in id order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.ipp.enums import JobState
from gateway.server.job_feed import STATE_GROUPS
from gateway.store.models import JobRow, UTCDateTime
from gateway.store.store import Store

PAGE_SIZE = 50
COLUMNS: tuple[Any, ...] = (
    JobRow.id,
    JobRow.queue,
    JobRow.user,
    JobRow.name,
    JobRow.state,
    JobRow.message,
    JobRow.printer,
    JobRow.created_at,
    JobRow.measured_pages,
)


@dataclass(frozen=True)
class JobFilter:
    queue: str = ""
    user: str = ""
    project: str = ""
    department: str = ""
    state: str = ""  # a key of STATE_GROUPS, or "" for every state
    since: datetime | None = None  # created at or after (UTC)
    until: datetime | None = None  # created before (UTC)


@dataclass(frozen=True)
class JobLine:
    id: int
    queue: str
    user: str
    name: str
    state: JobState
    message: str
    printer: str
    created_at: datetime
    pages: int | None

    @property
    def group(self) -> str:
        return next(g for g, states in STATE_GROUPS.items() if self.state in states)


@dataclass(frozen=True)
class JobPage:
    lines: list[JobLine]
    newer: int | None  # the `after` cursor of the page before, None on the first page
    older: int | None  # the `before` cursor of the next page, None on the last


async def page(
    store: Store,
    where: JobFilter,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> JobPage:
    async def fn(session: AsyncSession) -> JobPage:
        low, high = await _id_range(session, where)
        query = _filtered(where, low, high)
        if after is not None:  # the page before: the `size` jobs just newer, shown newest first
            rows = (
                await session.execute(
                    query.where(JobRow.id > after).order_by(JobRow.id).limit(size + 1)
                )
            ).all()
            more_newer = len(rows) > size
            lines = [_line(r) for r in rows[:size]][::-1]
            return JobPage(
                lines,
                lines[0].id if more_newer and lines else None,
                lines[-1].id if lines else None,
            )
        if before is not None:
            query = query.where(JobRow.id < before)
        rows = (await session.execute(query.order_by(JobRow.id.desc()).limit(size + 1))).all()
        lines = [_line(r) for r in rows[:size]]
        older = lines[-1].id if len(rows) > size else None
        newer = lines[0].id if before is not None and lines else None
        return JobPage(lines, newer, older)

    return await store.read(fn)


def _filtered(where: JobFilter, low: int | None, high: int | None) -> Select[Any]:
    query = select(*COLUMNS)
    # With a user, walk that user's jobs (ix_jobs_user_id): without statistics SQLite may
    # prefer the queue or state index and read a queue's or a state's every job. The other
    # columns are then compared as expressions (`queue || ''`, `state + 0`), which no index
    # serves, so the planner keeps to the user's.
    queue: Any = JobRow.queue + "" if where.user else JobRow.queue
    state: Any = JobRow.state + 0 if where.user else JobRow.state
    if where.user:
        query = query.where(JobRow.user == where.user)
    if where.queue:
        query = query.where(queue == where.queue)
    if where.project:  # not indexed: the reports link here with a period, a range of ids
        query = query.where(JobRow.project == where.project)
    if where.department:
        query = query.where(JobRow.department == where.department)
    if where.state:
        states = [int(s) for s in STATE_GROUPS[where.state]]
        query = query.where(state == states[0] if len(states) == 1 else state.in_(states))
    if low is not None:
        query = query.where(JobRow.id >= low)
    if high is not None:
        query = query.where(JobRow.id < high)
    return query


async def _id_range(session: AsyncSession, where: JobFilter) -> tuple[int | None, int | None]:
    low = await _first_id_from(session, where.since) if where.since else None
    high = await _first_id_from(session, where.until) if where.until else None
    return low, high


# The binary search of _first_id_from, as one recursive query (one round trip instead of
# twenty): each step probes the first job at or after the middle id, by the primary key.
_PROBE = "(SELECT {column} FROM jobs WHERE id >= (lo + hi) / 2 ORDER BY id LIMIT 1)"
_PROBED_AT = _PROBE.format(column="created_at")
_LATE = f"({_PROBED_AT} IS NULL OR {_PROBED_AT} >= :moment)"
_SEARCH = text(
    f"""
    WITH RECURSIVE search(lo, hi) AS (
        SELECT 0, COALESCE((SELECT MAX(id) FROM jobs), 0) + 1
        UNION ALL
        SELECT CASE WHEN {_LATE} THEN lo ELSE {_PROBE.format(column="id")} + 1 END,
               CASE WHEN {_LATE} THEN (lo + hi) / 2 ELSE hi END
        FROM search WHERE lo < hi
    )
    SELECT lo FROM search WHERE lo >= hi
    """
).bindparams(bindparam("moment", type_=UTCDateTime()))


async def _first_id_from(session: AsyncSession, when: datetime) -> int:
    """The id of the first job created at or after `when` (one past the last job if none)."""
    found = (await session.execute(_SEARCH, {"moment": when})).scalar()
    return int(found or 0)


def _line(row: Any) -> JobLine:
    return JobLine(
        id=row.id,
        queue=row.queue,
        user=row.user,
        name=row.name,
        state=JobState(row.state),
        message=row.message,
        printer=row.printer,
        created_at=row.created_at,
        pages=row.measured_pages,
    )

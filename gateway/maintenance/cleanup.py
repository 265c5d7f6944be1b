"""SmartTracker's database clean-up: users, projects and departments marked removed are deleted
for good, and so are the ended jobs created before a cut-off date, after their CSV export has
been offered. One transaction, with one audit entry per kind of thing deleted.

The cut-off is a fixed moment chosen when the clean-up is planned, so the CSV offered and the
jobs deleted are the same jobs however long the person takes to confirm."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..accounting.lists import KINDS
from ..ipp import JobState
from ..jobs.state import TERMINAL_STATES
from ..store.audit import Actor, record
from ..store.models import JobRow
from ..store.store import Store

ENDED = [int(state) for state in TERMINAL_STATES]
EXPORT_BATCH = 2000
AUDIT_NAMES = 200  # names listed in an audit entry; past that, only the count
# Cells a spreadsheet would read as a formula (OWASP's list): shown as text with a quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
JOB_COLUMNS = (
    "id", "uuid", "queue", "state", "created_at", "completed_at", "user", "project",
    "department", "billable", "comment", "name", "document_name", "printer", "printer_model",
    "measured_pages", "measured_impressions", "color_impressions", "mono_impressions",
    "area_printed_m2", "area_used_m2", "media_type", "currency", "cost", "cost_tax",
    "cost_gross", "price", "price_tax", "price_gross",
)  # fmt: skip


def cutoff_for(years: int, moment: datetime | None = None) -> datetime:
    """`years` calendar years before `moment` (29 February falls back to the 28th), in UTC."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return (moment - timedelta(days=1)).replace(year=moment.year - years)


@dataclass(frozen=True)
class Plan:
    cutoff: datetime
    removed: dict[str, list[tuple[str, str]]]  # kind -> (queue, name), sorted
    old_jobs: int

    @property
    def empty(self) -> bool:
        return not self.old_jobs and not any(self.removed.values())


@dataclass(frozen=True)
class Done:
    removed: dict[str, int]
    jobs: int


def _old_jobs(cutoff: datetime) -> Any:
    return (JobRow.created_at < cutoff) & JobRow.state.in_(ENDED)


async def plan(store: Store, cutoff: datetime) -> Plan:
    async def fn(session: AsyncSession) -> Plan:
        removed: dict[str, list[tuple[str, str]]] = {}
        for kind, model in KINDS.items():
            rows = await session.execute(
                select(model.queue, model.name)
                .where(model.status == "removed")
                .order_by(model.queue, model.name)
            )
            removed[kind] = [(queue, name) for queue, name in rows]
        count = await session.scalar(
            select(func.count()).select_from(JobRow).where(_old_jobs(cutoff))
        )
        return Plan(cutoff, removed, int(count or 0))

    return await store.read(fn)


async def clean_up(store: Store, actor: Actor, cutoff: datetime) -> Done:
    """Delete the removed entries and the ended jobs created before `cutoff`, in one
    transaction with the audit entries saying what went."""

    def fn(session: Session) -> Done:
        removed: dict[str, int] = {}
        for kind, model in KINDS.items():
            names = [
                f"{queue}/{name}"
                for queue, name in session.execute(
                    select(model.queue, model.name).where(model.status == "removed")
                )
            ]
            session.execute(delete(model).where(model.status == "removed"))
            removed[kind] = len(names)
            if names:
                shown = sorted(names)[:AUDIT_NAMES]
                record(
                    session,
                    actor,
                    f"cleanup.{kind}s",
                    f"{len(names)} removed {kind}s",
                    {"names": shown, "count": len(names)},
                    None,
                )
        result = session.execute(delete(JobRow).where(_old_jobs(cutoff)))
        jobs = int(getattr(result, "rowcount", 0) or 0)
        if jobs:
            record(
                session,
                actor,
                "cleanup.jobs",
                f"{jobs} jobs created before {cutoff:%Y-%m-%d %H:%M} UTC",
                {"jobs": jobs, "cutoff": cutoff.isoformat()},
                None,
            )
        return Done(removed, jobs)

    return await store.write(fn)


def safe_cell(value: Any) -> str:
    """A value as CSV text that no spreadsheet runs as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_START):
        return "'" + text
    return text


def _state_name(value: int) -> str:
    try:
        return JobState(value).name.lower()
    except ValueError:
        return str(value)


async def old_jobs_csv(store: Store, cutoff: datetime) -> AsyncIterator[bytes]:
    """The jobs a clean-up with this cut-off deletes, as CSV (UTF-8 with a BOM, so Excel reads
    the accents), read in batches so a million jobs never sit in memory at once."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(JOB_COLUMNS)
    yield ("\ufeff" + buffer.getvalue()).encode()
    after = 0
    while True:

        async def fn(session: AsyncSession, after: int = after) -> list[Any]:
            columns = [getattr(JobRow, name) for name in JOB_COLUMNS]
            result = await session.execute(
                select(*columns)
                .where(_old_jobs(cutoff), JobRow.id > after)
                .order_by(JobRow.id)
                .limit(EXPORT_BATCH)
            )
            return list(result)

        rows = await store.read(fn)
        if not rows:
            return
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            values = list(row)
            values[3] = _state_name(values[3])
            writer.writerow([safe_cell(v) for v in values])
        after = rows[-1][0]
        yield buffer.getvalue().encode()

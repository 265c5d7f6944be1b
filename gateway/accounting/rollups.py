"""The reports' roll-ups: each charged job's figures added to its day, printer, queue, user,
project, department and billable flag (report_rollups), to its day, printer, queue and billable
flag (report_days), and to its month, printer, queue and billable flag, once in all and once
for its user, its project and its department (report_months), in the transaction that writes
its charge. Reports read whole months from report_months and only the days at a period's edges
from the per-day tables.

The figures are those the job's record holds, as recorded when it printed: a rate table changed
since changes nothing here. A job whose billable flag, project or department is changed after it
printed moves its figures (`move_job`); `rebuild` recomputes both tables from the jobs.

A job's day is the server's local date it finished printing on (see gateway/reports/period.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..ipp.enums import JobState
from ..jobs.manager import JobManager
from ..jobs.record import Job, stored_value
from ..store.models import JobRow
from ..store.report_models import ReportDayRow, ReportMonthRow, ReportRollupRow
from ..store.store import StoreUnavailable
from .costing import CHANNELS, quantum

log = logging.getLogger(__name__)

ROLLUPS = cast(Table, ReportRollupRow.__table__)
DAYS = cast(Table, ReportDayRow.__table__)
MONTHS = cast(Table, ReportMonthRow.__table__)
ROLLUP_KEY = ("day", "printer", "queue", "user", "project", "department", "billable")
DAY_KEY = ("day", "printer", "queue", "billable")
MONTH_KEY = ("month", "printer", "queue", "dimension", "name", "billable")
DIMENSIONS = ("user", "project", "department")  # report_months' per-name rows
CATEGORY_LINES = ("mono_lines", "color_lines", "low_density", "high_density")
COLOR_LINES = ("color", "mono")
# What a job's figures are read from: the columns below, nothing else of the row.
SOURCE = (
    JobRow.id, JobRow.state, JobRow.completed_at, JobRow.costed_at, JobRow.printer,
    JobRow.queue, JobRow.user, JobRow.project, JobRow.department, JobRow.billable,
    JobRow.measured_pages, JobRow.measured_impressions, JobRow.measured_sheets,
    JobRow.color_impressions, JobRow.mono_impressions, JobRow.area_printed_m2,
    JobRow.area_used_m2, JobRow.length_used_m, JobRow.measurement, JobRow.cost, JobRow.cost_tax,
    JobRow.cost_gross, JobRow.price, JobRow.price_tax, JobRow.price_gross, JobRow.cost_breakdown,
    JobRow.price_breakdown,
)  # fmt: skip
MOVABLE = frozenset({"user", "project", "department", "billable"})


def counted(job: Mapping[str, Any]) -> bool:
    """Does this job belong in the roll-ups? Printed and charged."""
    return job["state"] == JobState.COMPLETED and job["costed_at"] is not None


def day_number(day: date) -> int:
    """A date as the roll-ups' day: YYYYMMDD."""
    return day.year * 10_000 + day.month * 100 + day.day


def local_day(moment: datetime) -> int:
    """The roll-ups' day of an aware moment: the server's local date then."""
    return day_number(moment.astimezone().date())


def key_of(job: Mapping[str, Any]) -> dict[str, Any]:
    moment = job["completed_at"] or job["costed_at"]
    if moment is None:
        raise ValueError(f"job {job['id']}: charged without a completion time")
    return {
        "day": local_day(moment),
        "printer": job["printer"] or "",
        "queue": job["queue"] or "",
        "user": job["user"] or "",
        "project": job["project"] or "",
        "department": job["department"] or "",
        "billable": bool(job["billable"]),
    }


def figures_of(job: Mapping[str, Any]) -> dict[str, Any]:
    """One job's contribution to its roll-up rows."""
    measured = json.loads(job["measurement"] or "{}")
    categories = measured.get("categories", {})
    by_color = measured.get("by_color", {})
    ink_m2 = measured.get("ink_m2", {})
    cost = json.loads(job["cost_breakdown"] or "{}")
    price = json.loads(job["price_breakdown"] or "{}")
    ink_ml = (cost or price).get("ink_ml", {})
    figures: dict[str, Any] = {
        "jobs": 1,
        "pages": job["measured_pages"] or 0,
        "impressions": job["measured_impressions"] or 0,
        "sheets": job["measured_sheets"] or 0,
        "color_impressions": job["color_impressions"] or 0,
        "mono_impressions": job["mono_impressions"] or 0,
        "area_printed_m2": job["area_printed_m2"] or 0.0,
        "area_used_m2": job["area_used_m2"] or 0.0,
        "length_used_m": job["length_used_m"] or 0.0,
    }
    for c in CHANNELS:
        figures[f"ink_m2_{c}"] = float(ink_m2.get(c, 0.0))
        figures[f"ink_ml_{c}"] = float(ink_ml.get(c, 0))
    for line in CATEGORY_LINES:
        use = categories.get(line, {})
        figures[f"imp_{line}"] = int(use.get("impressions", 0))
        figures[f"area_{line}"] = float(use.get("area_m2", 0.0))
    for line in COLOR_LINES:
        figures[f"area_{line}"] = float(by_color.get(line, {}).get("area_m2", 0.0))
    figures.update(_fees("cost", job["cost"], job["cost_tax"], job["cost_gross"], cost))
    figures.update(_fees("price", job["price"], job["price_tax"], job["price_gross"], price))
    return figures


def _fees(
    kind: str,
    net: Decimal | None,
    tax: Decimal | None,
    gross: Decimal | None,
    breakdown: Mapping[str, Any],
) -> dict[str, Decimal]:
    """A fee's totals as recorded, and its parts (each line, paper, service; ink is the lines
    together) without tax and with it. The breakdown's parts are in the terms the rates were
    entered in; the net and the gross are each shared out over them in proportion, in whole
    minor units, so that the parts add up to the job's net and to its gross exactly."""
    zero = Decimal(0)
    entered = {
        name: Decimal(line.get("amount", 0)) for name, line in breakdown.get("lines", {}).items()
    }
    entered["paper"] = Decimal(breakdown.get("paper", 0))
    entered["service"] = Decimal(breakdown.get("service", 0))
    step = quantum(str(breakdown.get("currency", "EUR")))
    result = {
        f"{kind}_net": net or zero,
        f"{kind}_tax": tax or zero,
        f"{kind}_gross": gross or zero,
    }
    for suffix, total in (("", net or zero), ("_gross", gross or zero)):
        shared = _share(total, entered, step)
        for line in CATEGORY_LINES + COLOR_LINES:
            result[f"{kind}_{line}{suffix}"] = shared.get(line, zero)
        result[f"{kind}_ink{suffix}"] = sum(
            (shared.get(line, zero) for line in CATEGORY_LINES + COLOR_LINES), zero
        )
        result[f"{kind}_paper{suffix}"] = shared.get("paper", zero)
        result[f"{kind}_service{suffix}"] = shared.get("service", zero)
    return result


def _share(total: Decimal, weights: Mapping[str, Decimal], step: Decimal) -> dict[str, Decimal]:
    """`total` split in proportion to `weights` in whole steps that add up to it (largest
    remainders take the steps left over); the weights themselves when they already add up."""
    weight = sum(weights.values(), Decimal(0))
    if weight == total:
        return dict(weights)
    if not weight:
        return {name: Decimal(0) for name in weights}
    units = int((total / step).to_integral_value())
    shares = {name: units * w / weight for name, w in weights.items()}
    whole = {name: int(share) for name, share in shares.items()}
    leftover = units - sum(whole.values())
    for name in sorted(shares, key=lambda n: shares[n] - whole[n], reverse=True)[:leftover]:
        whole[name] += 1
    return {name: step * count for name, count in whole.items()}


def _negated(figures: Mapping[str, Any]) -> dict[str, Any]:
    return {name: -value for name, value in figures.items()}


def _upsert(
    session: Session, table: Table, key: tuple[str, ...], rows: list[dict[str, Any]]
) -> None:
    """Add each row's figures to the row of its key, creating it if need be."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    figures = [name for name in rows[0] if name not in key]
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + statement.excluded[name] for name in figures},
    )
    session.execute(statement, rows)


def add_jobs(session: Session, jobs: Iterable[Mapping[str, Any]], sign: int = 1) -> int:
    """Add (sign 1) or take away (sign -1) the figures of these jobs; those not counted are
    passed over. Rows left with no job are deleted. Returns how many jobs counted."""
    rollups: dict[tuple[Any, ...], dict[str, Any]] = {}
    days: dict[tuple[Any, ...], dict[str, Any]] = {}
    months: dict[tuple[Any, ...], dict[str, Any]] = {}
    count = 0
    for job in jobs:
        if not counted(job):
            continue
        count += 1
        key = key_of(job)
        figures = figures_of(job) if sign > 0 else _negated(figures_of(job))
        _accumulate(rollups, tuple(key[k] for k in ROLLUP_KEY), ROLLUP_KEY, figures)
        _accumulate(days, tuple(key[k] for k in DAY_KEY), DAY_KEY, figures)
        month = key["day"] // 100
        for dimension in ("", *DIMENSIONS):
            name = key[dimension] if dimension else ""
            month_key = (month, key["printer"], key["queue"], dimension, name, key["billable"])
            _accumulate(months, month_key, MONTH_KEY, figures)
    _upsert(session, ROLLUPS, ROLLUP_KEY, list(rollups.values()))
    _upsert(session, DAYS, DAY_KEY, list(days.values()))
    _upsert(session, MONTHS, MONTH_KEY, list(months.values()))
    if sign < 0:
        for table in (ROLLUPS, DAYS, MONTHS):
            session.execute(delete(table).where(table.c.jobs <= 0))
    return count


def _accumulate(
    into: dict[tuple[Any, ...], dict[str, Any]],
    key: tuple[Any, ...],
    names: tuple[str, ...],
    figures: Mapping[str, Any],
) -> None:
    row = into.get(key)
    if row is None:
        into[key] = {**dict(zip(names, key, strict=True)), **figures}
        return
    for name, value in figures.items():
        row[name] += value


def _source_row(session: Session, job_id: int) -> dict[str, Any] | None:
    row = session.execute(select(*SOURCE).where(JobRow.id == job_id)).mappings().first()
    return dict(row) if row is not None else None


def write_charge(session: Session, job_id: int, fields: Mapping[str, Any]) -> None:
    """Write a job's charge and add it to the roll-ups, in the caller's transaction. A job
    charged again (never expected) has its earlier figures taken away first."""
    before = _source_row(session, job_id)
    if before is not None and counted(before):
        add_jobs(session, [before], sign=-1)
    session.execute(update(JobRow).where(JobRow.id == job_id).values(**fields))
    after = _source_row(session, job_id)
    if after is not None:
        add_jobs(session, [after])


async def record_charge(jobs: JobManager, job: Job, fields: Mapping[str, Any]) -> None:
    """The accountant's write of a job's charge: the job's record and its roll-ups in one
    transaction. While the store is away the charge goes to the outage journal as any job
    write does, and the roll-ups catch up with `printgate report rebuild`."""
    stored = {name: stored_value(name, value) for name, value in fields.items()}
    if jobs.journal is None or not jobs.journal.active:
        try:
            await jobs.store.write(lambda session: write_charge(session, job.id, stored))
        except StoreUnavailable:
            if jobs.journal is None:
                raise
        else:
            for name, value in fields.items():
                setattr(job, name, value)
            return
    log.warning("job %d: charged during a store outage; run `printgate report rebuild`", job.id)
    await jobs.update(job, **fields)


def move_job(session: Session, job_id: int, changes: Mapping[str, Any]) -> None:
    """Change a printed job's user, project, department or billable flag and move its figures
    with it, in the caller's transaction (a console action that also writes the audit log)."""
    unknown = set(changes) - MOVABLE
    if unknown:
        raise ValueError(f"{', '.join(sorted(unknown))}: not a roll-up dimension")
    before = _source_row(session, job_id)
    if before is None:
        raise LookupError(f"no job {job_id}")
    add_jobs(session, [before], sign=-1)
    session.execute(update(JobRow).where(JobRow.id == job_id).values(**changes))
    add_jobs(session, [{**before, **changes}])


REBUILD_CHUNK = 5000


def rebuild(session: Session) -> int:
    """Empty both tables and add up every printed, charged job again, a chunk of jobs at a time
    (memory holds one chunk and its rows). Returns how many jobs were counted."""
    for table in (ROLLUPS, DAYS, MONTHS):
        session.execute(delete(table))
    after, total = 0, 0
    while True:
        chunk = (
            session.execute(
                select(*SOURCE)
                .where(and_(JobRow.id > after, JobRow.costed_at.is_not(None)))
                .order_by(JobRow.id)
                .limit(REBUILD_CHUNK)
            )
            .mappings()
            .all()
        )
        if not chunk:
            return total
        total += add_jobs(session, cast(list[Mapping[str, Any]], chunk))
        after = chunk[-1]["id"]

"""Where the queries read. A period's whole months come from report_months (a few hundred rows a
month), the days at its edges from the per-day tables; a scope limited to projects or
departments reads the per-day, per-name table (report_rollups) throughout, since only it knows
every job's project and department together. Each part is narrowed to the target, the reader's
scope and the billable choice, and the parts' sums are added up here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Table, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..accounting.costing import Settings
from ..accounting.rollups import DAYS, MONTHS, ROLLUPS, day_number
from ..store.models import SettingRow
from .figures import FIGURES, Totals
from .period import Period
from .scope import Scope, Target

Billable = Literal["billable", "non-billable", "both"]


@dataclass(frozen=True)
class Parts:
    """A period cut into whole months (YYYYMM, first and last; None when there are none) and the
    day ranges (YYYYMMDD, both included) before and after them."""

    months: tuple[int, int] | None
    days: tuple[tuple[int, int], ...]


def split(period: Period) -> Parts:
    first_month = period.first if period.first.day == 1 else _next_month(period.first)
    after_last = period.last + timedelta(days=1)
    end_month = after_last.replace(day=1)  # the first day not in a whole month of the period
    if first_month >= end_month:
        return Parts(None, ((period.first_day, period.last_day),))
    days = []
    if period.first < first_month:
        days.append((period.first_day, day_number(first_month - timedelta(days=1))))
    if end_month <= period.last:
        days.append((day_number(end_month), period.last_day))
    last_month = end_month - timedelta(days=1)
    months = (first_month.year * 100 + first_month.month, last_month.year * 100 + last_month.month)
    return Parts(months, tuple(days))


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def narrowed(
    table: Table, target: Target, scope: Scope, billable: Billable = "both"
) -> list[ColumnElement[bool]]:
    """The target, the scope and the billable choice (not the time) as conditions on `table`.
    The months table has no project or department column: it is never asked with such a scope."""
    where: list[ColumnElement[bool]] = []
    if target.kind == "group":
        where.append(table.c.queue == target.name)
    elif target.kind == "printer":
        where.append(table.c.printer == target.name)
    if scope.queues is not None:
        where.append(table.c.queue.in_(sorted(scope.queues)))
    if scope.projects is not None:
        where.append(table.c.project.in_(sorted(scope.projects)))
    if scope.departments is not None:
        where.append(table.c.department.in_(sorted(scope.departments)))
    if billable != "both":
        where.append(table.c.billable == (billable == "billable"))
    return where


def sums(table: Table, names: Iterable[str] = FIGURES) -> list[Any]:
    """SUM() of the figures, labelled by name. A sum keeps its column's type, so amounts add
    up as the stored whole ten-thousandths and come back as Decimal."""
    return [func.sum(table.c[name]).label(name) for name in names]


def add(into: dict[str, Any], row: Any, names: Iterable[str]) -> None:
    """Add a row of sums to `into` (a missing or NULL sum is nothing)."""
    for name in names:
        value = getattr(row, name)
        if value is not None:
            into[name] = into[name] + value if name in into else value


@dataclass(frozen=True)
class Source:
    """One part of a query: a table, its time condition, and what it is grouped by."""

    table: Table
    when: Sequence[ColumnElement[bool]]
    group: str | None  # the column of the names, or None for one total


def sources(period: Period, scope: Scope, dimension: str | None) -> list[Source]:
    """The parts to read for `period`: by `dimension` (user, project, department) or, with
    None, one total."""
    if scope.by_names:
        when = [ROLLUPS.c.day >= period.first_day, ROLLUPS.c.day <= period.last_day]
        return [Source(ROLLUPS, when, dimension)]
    parts = split(period)
    found = []
    days = ROLLUPS if dimension else DAYS
    for first, last in parts.days:
        found.append(Source(days, [days.c.day >= first, days.c.day <= last], dimension))
    if parts.months is not None:
        first, last = parts.months
        when = [
            MONTHS.c.month >= first,
            MONTHS.c.month <= last,
            MONTHS.c.dimension == (dimension or ""),
        ]
        found.append(Source(MONTHS, when, "name" if dimension else None))
    return found


async def totals_by(
    session: AsyncSession,
    period: Period,
    target: Target,
    scope: Scope,
    dimension: str | None,
    billable: Billable = "both",
    names: frozenset[str] | None = None,
    figures: Sequence[str] = FIGURES,
) -> dict[str, Totals]:
    """The period's sums per name of `dimension` (or under "" when dimension is None)."""
    found: dict[str, dict[str, Any]] = {}
    for source in sources(period, scope, dimension):
        table = source.table
        where = [*source.when, *narrowed(table, target, scope, billable)]
        columns = sums(table, figures)
        if source.group is None:
            query = select(*columns).where(and_(*where))
            for row in (await session.execute(query)).all():
                add(found.setdefault("", {}), row, figures)
            continue
        column = table.c[source.group]
        if names is not None:
            where.append(column.in_(sorted(names)))
        query = select(column.label("key"), *columns).where(and_(*where)).group_by(column)
        for row in (await session.execute(query)).all():
            add(found.setdefault(row.key, {}), row, figures)
    return {name: Totals(values) for name, values in found.items()}


async def settings(session: AsyncSession) -> Settings:
    """The accounting options now (units, currency, cost basis), as reports show figures."""
    rows = (await session.execute(select(SettingRow.key, SettingRow.value))).all()
    try:
        return Settings.parse({key: value for key, value in rows})
    except ValueError:
        return Settings()

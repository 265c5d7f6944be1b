"""Each name's jobs, as the reports by name open them: paged, newest first, with the fee the
report shows (cost or price, with or without tax)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..ipp.enums import JobState
from ..store.models import JobRow
from ..store.store import Store
from .by_name import ByNameOptions, Dimension
from .period import Period
from .raw import job_conditions
from .scope import ALL_PRINTERS, EVERYTHING, Scope, Target


@dataclass(frozen=True)
class JobLine:
    id: int
    completed_at: datetime | None
    name: str  # the document's
    user: str
    project: str
    department: str
    billable: bool
    queue: str
    printer: str
    pages: int  # impressions
    area_m2: float
    amount: Decimal  # of the report's fees, with or without tax


@dataclass(frozen=True)
class JobsPage:
    jobs: tuple[JobLine, ...]
    total: int  # jobs on every page
    page: int
    page_size: int


async def name_jobs(
    store: Store,
    dimension: Dimension,
    name: str,
    period: Period,
    target: Target = ALL_PRINTERS,
    options: ByNameOptions = ByNameOptions(),  # noqa: B008 -- frozen, shared safely
    scope: Scope = EVERYTHING,
    page: int = 1,
    page_size: int = 50,
) -> JobsPage:
    """The charged jobs of one user, project or department that the report by name counts."""
    column = getattr(JobRow, dimension)
    where = [
        *job_conditions(period, target, scope),
        JobRow.state == JobState.COMPLETED,
        JobRow.costed_at.is_not(None),
        column == name,
    ]
    if options.billable != "both":
        where.append(JobRow.billable == (options.billable == "billable"))
    suffix = "_gross" if options.with_tax else ""
    amount = getattr(JobRow, f"{options.fees}{suffix}")
    query = (
        select(
            JobRow.id,
            JobRow.completed_at,
            JobRow.document_name,
            JobRow.name,
            JobRow.user,
            JobRow.project,
            JobRow.department,
            JobRow.billable,
            JobRow.queue,
            JobRow.printer,
            JobRow.measured_impressions,
            JobRow.area_printed_m2,
            amount.label("amount"),
        )
        .where(and_(*where))
        .order_by(JobRow.completed_at.desc(), JobRow.id.desc())
        .offset((max(page, 1) - 1) * page_size)
        .limit(page_size)
    )
    count = select(func.count()).select_from(JobRow).where(and_(*where))

    async def fn(session: AsyncSession) -> JobsPage:
        rows = (await session.execute(query)).all()
        total = int((await session.execute(count)).scalar_one())
        lines = tuple(
            JobLine(
                id=row.id,
                completed_at=row.completed_at,
                name=row.document_name or row.name,
                user=row.user,
                project=row.project,
                department=row.department,
                billable=row.billable,
                queue=row.queue,
                printer=row.printer,
                pages=row.measured_impressions or 0,
                area_m2=row.area_printed_m2 or 0.0,
                amount=row.amount if row.amount is not None else Decimal(0),
            )
            for row in rows
        )
        return JobsPage(lines, total, page, page_size)

    return await store.read(fn)

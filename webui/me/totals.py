"""This month's totals of a person in My printing: what printed on the queues their sign-in
proved them on, with the price recorded when each job printed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.ipp import JobState
from gateway.store.models import JobRow
from gateway.store.store import Store


@dataclass(frozen=True)
class Totals:
    jobs: int
    pages: int  # printed sides, every copy
    currency: str
    price: Decimal


def month_start(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def month_totals(store: Store, user: str, queues: Iterable[str]) -> Totals:
    wanted = sorted(queues)

    async def fn(session: AsyncSession) -> Totals:
        query = (
            select(
                func.count(JobRow.id),
                func.coalesce(func.sum(JobRow.measured_impressions), 0),
                func.coalesce(func.sum(JobRow.price_gross), 0),
                func.max(JobRow.currency),
            )
            .where(JobRow.user == user, JobRow.queue.in_(wanted))
            .where(JobRow.state == int(JobState.COMPLETED), JobRow.completed_at >= month_start())
        )
        count, pages, price, currency = (await session.execute(query)).one()
        return Totals(count, pages or 0, currency or "", price or Decimal(0))

    return await store.read(fn)

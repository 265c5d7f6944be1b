"""What a printed job would cost and be charged under tables not yet saved, beside what it was
charged. The figures come from accountant.charged_fields, the very function that charges a job
when it prints, fed with the edited tables instead of the stored ones: a preview can never
disagree with the charge of the same job printed after the tables are saved."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..analysis.figures import JobFigures
from ..ipp import JobState
from ..jobs.record import Job
from ..jobs.state import AnalysisStatus
from ..store.models import JobRow
from ..store.store import Store
from .accountant import charged_fields
from .costing import ModelProfile, RateTable, Settings
from .rates import KINDS, InForce


@dataclass(frozen=True)
class Amounts:
    net: Decimal
    tax: Decimal
    gross: Decimal
    breakdown: dict[str, Any]


@dataclass(frozen=True)
class Preview:
    job: Job
    currency: str
    cost: Amounts | None  # under the edited tables; None: no cost table
    price: Amounts | None
    charged_cost: Decimal | None  # what the job's record says (gross)
    charged_price: Decimal | None


async def recent_printed(store: Store, limit: int = 30) -> list[Job]:
    """The newest jobs that printed and were measured: the ones a preview can recompute."""

    async def fn(session: AsyncSession) -> list[Job]:
        rows = await session.scalars(
            select(JobRow)
            .where(
                JobRow.state == int(JobState.COMPLETED),
                JobRow.analysis_status == AnalysisStatus.DONE.value,
            )
            .order_by(JobRow.id.desc())
            .limit(limit)
        )
        return [Job.from_row(row) for row in rows]

    return await store.read(fn)


async def printed_job(store: Store, job_id: int) -> Job | None:
    async def fn(session: AsyncSession) -> JobRow | None:
        return await session.get(JobRow, job_id)

    row = await store.read(fn)
    if row is None or row.state != int(JobState.COMPLETED) or not row.measurement:
        return None
    return Job.from_row(row)


def in_force(settings: Mapping[str, str], body: Mapping[str, Any]) -> InForce:
    """The edited tables as the accountant would find them once saved (RateError if they do
    not read)."""
    parsed = Settings.parse(settings)
    profile = ModelProfile.parse({k: v for k, v in body.items() if k not in KINDS})
    return InForce(
        parsed,
        profile,
        RateTable.parse(body["cost"], parsed.basis) if "cost" in body else None,
        RateTable.parse(body["price"], parsed.basis) if "price" in body else None,
    )


def preview(job: Job, settings: Mapping[str, str], model: str, body: Mapping[str, Any]) -> Preview:
    figures = JobFigures.from_dict(json.loads(job.measurement))
    fields = charged_fields(in_force(settings, body), figures, job, model)

    def amounts(kind: str) -> Amounts | None:
        if kind not in fields:
            return None
        return Amounts(
            fields[kind],
            fields[f"{kind}_tax"],
            fields[f"{kind}_gross"],
            json.loads(fields[f"{kind}_breakdown"]),
        )

    return Preview(
        job,
        str(fields["currency"]),
        amounts("cost"),
        amounts("price"),
        job.cost_gross,
        job.price_gross,
    )

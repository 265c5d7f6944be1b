"""Reconciliation: per printer and period, the impressions printgate charged against what the
printer's own counter says it printed over the same time (SNMP meter readings). The difference
is what was printed around printgate: copies made at the device, jobs sent straight to it. The
jobs whose own meter check disagreed with their measured impressions are listed beside it.

The meter window runs from the last reading at or before the period's start (else the first one
in it) to the last reading in the period; charged impressions are counted over that same window,
so a difference is never an artefact of readings taken hours after the period began."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..ipp.enums import JobState
from ..store.models import JobRow, MeterReadingRow, SnmpDeviceRow
from ..store.store import Store
from .period import Period
from .scope import ALL_PRINTERS, EVERYTHING, Scope, Target


@dataclass(frozen=True)
class MismatchedJob:
    id: int
    completed_at: datetime | None
    user: str
    name: str
    impressions: int | None  # what printgate measured
    meter_delta: int | None  # what the printer's counter moved by during the job


@dataclass(frozen=True)
class PrinterReconciliation:
    printer: str
    address: str  # the SNMP device's host:port, "" when none is linked to the printer
    unit: str  # the counter's unit as the printer reports it
    window_start: datetime | None
    window_end: datetime | None
    meter_start: int | None
    meter_end: int | None
    charged_jobs: int
    charged: int  # impressions of the charged jobs that finished inside the window
    mismatches: tuple[MismatchedJob, ...]

    @property
    def counted(self) -> int | None:
        """What the printer's counter moved by over the window; None without two readings."""
        if self.meter_start is None or self.meter_end is None:
            return None
        return self.meter_end - self.meter_start

    @property
    def difference(self) -> int | None:
        """Impressions printed around printgate (negative: charged but not counted)."""
        counted = self.counted
        return None if counted is None else counted - self.charged


@dataclass(frozen=True)
class Reconciliation:
    period: Period
    target: Target
    made_at: datetime
    printers: tuple[PrinterReconciliation, ...]


async def reconciliation(
    store: Store,
    period: Period,
    target: Target = ALL_PRINTERS,
    scope: Scope = EVERYTHING,
) -> Reconciliation:
    """Every printer with an SNMP device (or with jobs) in the target. A scope limited to some
    queues sees only the printers of those queues' jobs; one limited to projects or departments
    sees no printer's counter (a counter cannot be split by project) and no reconciliation."""

    async def fn(session: AsyncSession) -> Reconciliation:
        printers = await _printers(session, period, target, scope)
        found = [await _printer(session, name, period, scope) for name in printers]
        return Reconciliation(period, target, datetime.now(UTC), tuple(found))

    return await store.read(fn)


async def _printers(
    session: AsyncSession, period: Period, target: Target, scope: Scope
) -> list[str]:
    if scope.by_names:
        return []
    start, end = period.utc_bounds()
    used = select(JobRow.printer).where(
        JobRow.completed_at >= start, JobRow.completed_at < end, JobRow.printer != ""
    )
    if target.kind == "group":
        used = used.where(JobRow.queue == target.name)
    if scope.queues is not None:
        used = used.where(JobRow.queue.in_(sorted(scope.queues)))
    names = set((await session.scalars(used.distinct())).all())
    if scope.queues is None and target.kind != "group":
        linked = select(SnmpDeviceRow.printer).where(SnmpDeviceRow.printer != "")
        names |= set((await session.scalars(linked)).all())
    if target.kind == "printer":
        names &= {target.name}
    return sorted(names)


async def _printer(
    session: AsyncSession, printer: str, period: Period, scope: Scope
) -> PrinterReconciliation:
    start, end = period.utc_bounds()
    device = (
        await session.execute(
            select(SnmpDeviceRow.id, SnmpDeviceRow.address).where(SnmpDeviceRow.printer == printer)
        )
    ).first()
    first = last = None
    if device is not None:
        first, last = await _window(session, device.id, start, end)
    window_start = first.read_at if first is not None else start
    window_end = last.read_at if last is not None else end
    charged_where = [
        JobRow.printer == printer,
        JobRow.state == JobState.COMPLETED,
        JobRow.costed_at.is_not(None),
        JobRow.completed_at > window_start,
        JobRow.completed_at <= window_end,
    ]
    if scope.queues is not None:
        charged_where.append(JobRow.queue.in_(sorted(scope.queues)))
    charged = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(JobRow.measured_impressions), 0)).where(
                and_(*charged_where)
            )
        )
    ).one()
    mismatch_where = [
        JobRow.printer == printer,
        JobRow.meter_mismatch.is_(True),
        JobRow.completed_at >= start,
        JobRow.completed_at < end,
    ]
    if scope.queues is not None:
        mismatch_where.append(JobRow.queue.in_(sorted(scope.queues)))
    mismatched = (
        await session.execute(
            select(
                JobRow.id,
                JobRow.completed_at,
                JobRow.user,
                JobRow.document_name,
                JobRow.measured_impressions,
                JobRow.meter_delta,
            )
            .where(and_(*mismatch_where))
            .order_by(JobRow.completed_at, JobRow.id)
        )
    ).all()
    return PrinterReconciliation(
        printer=printer,
        address=device.address if device is not None else "",
        unit=(last.unit if last is not None else ""),
        window_start=first.read_at if first is not None else None,
        window_end=last.read_at if last is not None else None,
        meter_start=first.total if first is not None else None,
        meter_end=last.total if last is not None else None,
        charged_jobs=int(charged[0]),
        charged=int(charged[1] or 0),
        mismatches=tuple(
            MismatchedJob(
                r.id, r.completed_at, r.user, r.document_name, r.measured_impressions, r.meter_delta
            )
            for r in mismatched
        ),
    )


async def _window(
    session: AsyncSession, device_id: int, start: datetime, end: datetime
) -> tuple[MeterReadingRow | None, MeterReadingRow | None]:
    """The readings that bound the period: the last at or before its start (else the first in
    it), and the last in it. Readings without a total count are passed over."""
    readings = select(MeterReadingRow).where(
        MeterReadingRow.device_id == device_id, MeterReadingRow.total.is_not(None)
    )
    before = await session.scalar(
        readings.where(MeterReadingRow.read_at <= start)
        .order_by(MeterReadingRow.read_at.desc(), MeterReadingRow.id.desc())
        .limit(1)
    )
    inside = readings.where(MeterReadingRow.read_at > start, MeterReadingRow.read_at < end)
    first = before or await session.scalar(
        inside.order_by(MeterReadingRow.read_at, MeterReadingRow.id).limit(1)
    )
    last = await session.scalar(
        inside.order_by(MeterReadingRow.read_at.desc(), MeterReadingRow.id.desc()).limit(1)
    )
    if first is not None and last is not None and last.id == first.id:
        last = None
    return first, last

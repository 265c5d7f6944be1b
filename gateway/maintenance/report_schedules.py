"""Scheduled reports: the summary or a report by users, projects or departments (for all names
or one), mailed from a start date and time, daily, weekly or monthly, as PDF and/or Excel.

Schedules are made in the console at any time, so the shared scheduler does not hold one task
per schedule: it runs `ReportSchedules.run_due` every few seconds, which looks for schedules
whose `next_run` has come. Each schedule keeps its own `next_run` in the store: one missed
while printgate was down is due at start-up and runs once, however many runs it missed, and
its timetable goes on from then. Each run covers the period just ended (the day before, the
seven days before, the month before) as its owner's scope allows, and is logged
(report_runs). A mail that cannot be sent is tried again after RETRY_DELAYS; when the last
try fails the administrators are told."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..reports.by_name import DIMENSIONS, ByNameOptions
from ..reports.documents import TITLES
from ..reports.mailing import AddressError, addresses, mail_report
from ..reports.period import Period, preset
from ..reports.render import ReportRequest, render_many
from ..reports.scope import ALL_PRINTERS, Target
from ..runtime.console_settings import ConsoleSettings
from ..runtime.mail import Mail, MailError
from ..schedule import Schedule
from ..store.audit import Actor, record
from ..store.report_models import ReportRunRow, ReportScheduleRow
from ..store.store import Store, StoreUnavailable, now
from .report_scopes import owner_scope

log = logging.getLogger(__name__)

Recurrence = Literal["daily", "weekly", "monthly"]
RECURRENCES: tuple[str, ...] = get_args(Recurrence)
SCHEDULED_REPORTS = ("summary", "users", "projects", "departments")
SCHEDULE_FORMATS = ("pdf", "xlsx")
TICK = "every 10s"  # how often the shared scheduler looks for due schedules
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
RUNS_SHOWN = 20


class ScheduleError(ValueError):
    """A schedule the form cannot save: `field` names the form field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ScheduleSpec:
    """What a console form asks for."""

    report: str
    starts_at: datetime  # aware
    recurrence: str
    recipients: str  # "a@x.org; b@y.org"
    formats: tuple[str, ...]
    name: str = ""  # one user, project or department; "" for all
    target: Target = ALL_PRINTERS
    options: ByNameOptions = field(default_factory=ByNameOptions)


@dataclass(frozen=True)
class RunView:
    due_at: datetime
    ran_at: datetime
    outcome: str  # sent | notice | retry | failed
    detail: str


@dataclass(frozen=True)
class ScheduleView:
    id: int
    owner: str
    spec: ScheduleSpec
    next_run: datetime
    retry_at: datetime | None
    runs: tuple[RunView, ...]


def checked(spec: ScheduleSpec) -> ScheduleSpec:
    """The spec with its recipients tidied, or ScheduleError naming the field."""
    if spec.report not in SCHEDULED_REPORTS:
        raise ScheduleError("report", f"one of {', '.join(SCHEDULED_REPORTS)}")
    if spec.recurrence not in RECURRENCES:
        raise ScheduleError("recurrence", f"one of {', '.join(RECURRENCES)}")
    if not spec.formats or any(f not in SCHEDULE_FORMATS for f in spec.formats):
        raise ScheduleError("formats", "choose PDF, Excel or both")
    if spec.starts_at.tzinfo is None:
        raise ScheduleError("starts_at", "a start date and time are needed")
    if spec.report == "summary" and spec.name:
        raise ScheduleError("name", "the summary is for all names")
    try:
        recipients = addresses(spec.recipients)
    except AddressError as exc:
        raise ScheduleError("recipients", str(exc)) from exc
    return ScheduleSpec(
        spec.report,
        spec.starts_at,
        spec.recurrence,
        "; ".join(recipients),
        tuple(f for f in SCHEDULE_FORMATS if f in spec.formats),
        spec.name,
        spec.target,
        spec.options,
    )


def timetable(starts_at: datetime, recurrence: str) -> Schedule:
    """Runs at the start's local time of day: every day, on its weekday, or on its day of the
    month (a 31st runs on the last day of shorter months)."""
    local = starts_at.astimezone().replace(microsecond=0)
    at = local.timetz().replace(tzinfo=None)
    if recurrence == "weekly":
        return Schedule(at=at, weekdays=frozenset({local.weekday()}), start=local)
    if recurrence == "monthly":
        return Schedule(at=at, month_day=local.day, start=local)
    return Schedule(at=at, start=local)


def first_run(starts_at: datetime, recurrence: str, moment: datetime) -> datetime:
    """The first run at or after the start that is not already past."""
    rule = timetable(starts_at, recurrence)
    start = starts_at.replace(microsecond=0)
    return rule.next_after(max(moment, start) - timedelta(microseconds=1))


def period_for(recurrence: str, due: datetime) -> Period:
    """The period a run due at `due` reports on: the one that has just ended."""
    day = due.astimezone().date()
    if recurrence == "weekly":
        return Period(day - timedelta(days=7), day - timedelta(days=1))
    if recurrence == "monthly":
        return preset("last-month", day)
    return Period(day - timedelta(days=1), day - timedelta(days=1))


def _target_text(target: Target) -> str:
    return "" if target.kind == "all" else f"{target.kind}:{target.name}"


def _target_of(text: str) -> Target:
    kind, _, name = text.partition(":")
    if kind in ("group", "printer") and name:
        return Target(kind, name)  # type: ignore[arg-type]
    return ALL_PRINTERS


def _options_text(options: ByNameOptions) -> str:
    return json.dumps(
        {"billable": options.billable, "fees": options.fees, "with_tax": options.with_tax}
    )


def _options_of(text: str) -> ByNameOptions:
    values = json.loads(text or "{}")
    return ByNameOptions(
        billable=values.get("billable", "both"),
        fees=values.get("fees", "cost"),
        with_tax=bool(values.get("with_tax", False)),
    )


def spec_of(row: ReportScheduleRow) -> ScheduleSpec:
    return ScheduleSpec(
        report=row.report,
        starts_at=row.starts_at,
        recurrence=row.recurrence,
        recipients=row.recipients,
        formats=tuple(f for f in row.formats.split(",") if f),
        name=row.name,
        target=_target_of(row.target),
        options=_options_of(row.options),
    )


def _described(spec: ScheduleSpec) -> dict[str, str]:
    return {
        "report": spec.report,
        "name": spec.name,
        "target": _target_text(spec.target),
        "starts_at": spec.starts_at.isoformat(),
        "recurrence": spec.recurrence,
        "recipients": spec.recipients,
        "formats": ",".join(spec.formats),
    }


# --- the console's side: add, list, remove -------------------------------------------------


async def add_schedule(store: Store, actor: Actor, owner: str, spec: ScheduleSpec) -> int:
    """Save a schedule for `owner` (ScheduleError when the spec does not hold); its id."""
    spec = checked(spec)
    moment = now()
    next_run = first_run(spec.starts_at, spec.recurrence, moment)

    def fn(session: Session) -> int:
        row = ReportScheduleRow(
            owner=owner,
            report=spec.report,
            name=spec.name,
            target=_target_text(spec.target),
            options=_options_text(spec.options),
            starts_at=spec.starts_at,
            recurrence=spec.recurrence,
            recipients=spec.recipients,
            formats=",".join(spec.formats),
            next_run=next_run,
            failures=0,
            created_at=moment,
        )
        session.add(row)
        session.flush()
        record(session, actor, "report.schedule.add", f"schedule {row.id}", None, _described(spec))
        return row.id

    return await store.write(fn)


async def schedules(store: Store, owner: str | None) -> list[ScheduleView]:
    """The schedules of `owner` (None: everyone's), oldest first, with their latest runs."""

    async def fn(session: AsyncSession) -> list[ScheduleView]:
        query = select(ReportScheduleRow).order_by(ReportScheduleRow.id)
        if owner is not None:
            query = query.where(ReportScheduleRow.owner == owner)
        found = []
        for row in await session.scalars(query):
            runs = await session.scalars(
                select(ReportRunRow)
                .where(ReportRunRow.schedule_id == row.id)
                .order_by(ReportRunRow.id.desc())
                .limit(RUNS_SHOWN)
            )
            found.append(
                ScheduleView(
                    row.id,
                    row.owner,
                    spec_of(row),
                    row.next_run,
                    row.retry_at,
                    tuple(RunView(r.due_at, r.ran_at, r.outcome, r.detail) for r in runs),
                )
            )
        return found

    return await store.read(fn)


async def remove_schedule(store: Store, actor: Actor, schedule_id: int, owner: str | None) -> bool:
    """Remove a schedule (only `owner`'s unless None) and its run log; whether it was there."""

    def fn(session: Session) -> bool:
        row = session.get(ReportScheduleRow, schedule_id)
        if row is None or (owner is not None and row.owner != owner):
            return False
        before = _described(spec_of(row))
        session.delete(row)
        session.execute(delete(ReportRunRow).where(ReportRunRow.schedule_id == schedule_id))
        record(session, actor, "report.schedule.remove", f"schedule {schedule_id}", before, None)
        return True

    return await store.write(fn)


# --- the service's side: running what is due -------------------------------------------------


@dataclass(frozen=True)
class _Due:
    id: int
    owner: str
    spec: ScheduleSpec
    due: datetime
    regular: bool  # False: a retry of a run whose mail failed
    failures: int


class ReportSchedules:
    """The scheduled reports of one store, run by the shared scheduler (service.py)."""

    def __init__(
        self,
        store: Store,
        settings: ConsoleSettings,
        retry_delays: Sequence[timedelta] = RETRY_DELAYS,
        clock: Callable[[], datetime] = now,
    ):
        self.store = store
        self.settings = settings
        self.retry_delays = tuple(retry_delays)
        self.clock = clock

    async def run_due(self) -> int:
        """Run every schedule whose time (or retry time) has come; how many ran. While the
        store is out of reach nothing is due: the runs are made when it is back."""
        try:
            due = await self._due(self.clock())
        except StoreUnavailable:
            log.debug("scheduled reports wait for the store")
            return 0
        for item in due:
            await self._run(item)
        return len(due)

    async def _due(self, moment: datetime) -> list[_Due]:
        async def fn(session: AsyncSession) -> list[_Due]:
            query = (
                select(ReportScheduleRow)
                .where(
                    or_(
                        ReportScheduleRow.next_run <= moment,
                        ReportScheduleRow.retry_at <= moment,
                    )
                )
                .order_by(ReportScheduleRow.id)
            )
            found = []
            for row in await session.scalars(query):
                regular = row.next_run <= moment
                due = row.next_run if regular else (row.pending_due or row.next_run)
                found.append(_Due(row.id, row.owner, spec_of(row), due, regular, row.failures))
            return found

        return await self.store.read(fn)

    async def _run(self, item: _Due) -> None:
        period = period_for(item.spec.recurrence, item.due)
        request = ReportRequest(
            kind=item.spec.report,  # type: ignore[arg-type]
            period=period,
            target=item.spec.target,
            scope=await owner_scope(self.store, item.owner),
            options=item.spec.options,
            names=frozenset({item.spec.name}) if item.spec.name else None,
        )
        heading = TITLES[DIMENSIONS.get(item.spec.report, "summary")]
        title = f"printgate: {heading} ({item.spec.name or request.target.label}, {period.label})"
        try:
            files = await render_many(
                self.store, request, item.spec.formats, await self.settings.logo()
            )
            mailer = await self.settings.mailer()
            sent = await mail_report(mailer, item.spec.recipients, title, files)
        except (MailError, AddressError, OSError, StoreUnavailable) as exc:
            await self._failed(item, str(exc) or type(exc).__name__, title)
            return
        outcome = "sent" if sent.attached else "notice"
        detail = f"to {', '.join(sent.to)}: {sent.size} bytes"
        await self._finish(item, outcome, detail, retry_at=None, failures=0)
        log.info("scheduled report %d %s %s", item.id, outcome, detail)

    async def _failed(self, item: _Due, reason: str, title: str) -> None:
        failures = item.failures + 1
        if failures <= len(self.retry_delays):
            retry_at = self.clock() + self.retry_delays[failures - 1]
            detail = f"{reason}; tried again at {retry_at.isoformat(timespec='seconds')}"
            log.warning("scheduled report %d not sent: %s", item.id, detail)
            await self._finish(item, "retry", detail, retry_at=retry_at, failures=failures)
            return
        log.error("scheduled report %d not sent after %d tries: %s", item.id, failures, reason)
        await self._finish(item, "failed", f"{reason}; gave up after {failures} tries", None, 0)
        await self._tell_administrators(item, title, reason, failures)

    async def _finish(
        self, item: _Due, outcome: str, detail: str, retry_at: datetime | None, failures: int
    ) -> None:
        ran_at = self.clock()
        rule = timetable(item.spec.starts_at, item.spec.recurrence)

        def fn(session: Session) -> None:
            row = session.get(ReportScheduleRow, item.id)
            session.add(
                ReportRunRow(
                    schedule_id=item.id,
                    due_at=item.due,
                    ran_at=ran_at,
                    outcome=outcome,
                    detail=detail[:2000],
                )
            )
            if row is None:  # removed while it ran
                return
            if item.regular:  # missed runs are not made up: the timetable goes on from now
                row.next_run = rule.next_after(max(ran_at, item.due))
            row.retry_at = retry_at
            row.pending_due = item.due if retry_at is not None else None
            row.failures = failures

        await self.store.write(fn)

    async def _tell_administrators(
        self, item: _Due, title: str, reason: str, failures: int
    ) -> None:
        try:
            mailer = await self.settings.mailer()
            to = mailer.recipients(await self.store.admin_emails())
            body = (
                f"The scheduled report {item.id} of {item.owner} ({title}) could not be sent "
                f"to {item.spec.recipients} after {failures} tries:\n\n    {reason}\n\n"
                "Its next run stays on its timetable. The console's Reports > Schedules page "
                "shows its runs."
            )
            await mailer.send(Mail(to, "printgate: a scheduled report was not sent", body))
        except (MailError, OSError, StoreUnavailable) as exc:
            log.error("administrators not told of scheduled report %d: %s", item.id, exc)

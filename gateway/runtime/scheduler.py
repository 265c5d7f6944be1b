"""Recurring tasks on a timetable that survives restarts (meter reports, discovery, backups).

Each task's next run is kept in the store. At start-up a task whose next run has passed while
printgate was down runs once, straight away, however many runs it missed; then the timetable
goes on from now. A task whose schedule text changed starts a fresh timetable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..schedule import Schedule, parse_schedule
from ..store.models import ScheduledTaskRow
from ..store.store import Store, now

log = logging.getLogger(__name__)
# Longest sleep between looks at the clock: a suspended machine or a changed clock is noticed.
MAX_SLEEP = 30.0


@dataclass(frozen=True)
class Recurring:
    name: str
    schedule: str
    action: Callable[[], Awaitable[object]]


class Scheduler:
    def __init__(
        self, store: Store, tasks: Sequence[Recurring], clock: Callable[[], datetime] = now
    ):
        self.store = store
        self.tasks = {t.name: t for t in tasks}
        self.rules: dict[str, Schedule] = {t.name: parse_schedule(t.schedule) for t in tasks}
        self.clock = clock
        self.next_run: dict[str, datetime] = {}

    async def load(self) -> list[str]:
        """Read the timetable; the names of tasks whose run was missed (due now)."""

        async def read(session: AsyncSession) -> list[ScheduledTaskRow]:
            names = list(self.tasks)
            query = select(ScheduledTaskRow).where(ScheduledTaskRow.name.in_(names))
            return list(await session.scalars(query))

        rows = {row.name: row for row in await self.store.read(read)}
        moment = self.clock()
        missed = []
        for name, task in self.tasks.items():
            row = rows.get(name)
            if row is None or row.schedule != task.schedule:
                self.next_run[name] = self.rules[name].next_after(moment)
                await self._save(name, self.next_run[name], None)
            elif row.next_run <= moment:
                self.next_run[name] = moment
                missed.append(name)
            else:
                self.next_run[name] = row.next_run
        return missed

    async def run(self) -> None:
        missed = await self.load()
        if missed:
            log.info("running missed scheduled tasks: %s", ", ".join(missed))
        while True:
            moment = self.clock()
            for name in sorted(self.tasks, key=lambda n: self.next_run[n]):
                if self.next_run[name] <= moment:
                    await self._run_one(name)
            upcoming = min(self.next_run.values(), default=None)
            delay = MAX_SLEEP if upcoming is None else (upcoming - self.clock()).total_seconds()
            await asyncio.sleep(min(MAX_SLEEP, max(0.05, delay)))

    async def _run_one(self, name: str) -> None:
        started = self.clock()
        try:
            await self.tasks[name].action()
        except Exception:
            # A failed run is not retried before its next time: it is logged, and the
            # timetable goes on (a report that cannot be mailed now is mailed next time).
            log.exception("scheduled task %s failed", name)
        self.next_run[name] = self.rules[name].next_after(max(started, self.clock()))
        await self._save(name, self.next_run[name], started)

    async def _save(self, name: str, next_run: datetime, last_run: datetime | None) -> None:
        schedule = self.tasks[name].schedule

        def fn(session: Session) -> None:
            row = session.get(ScheduledTaskRow, name)
            if row is None:
                session.add(
                    ScheduledTaskRow(
                        name=name, schedule=schedule, next_run=next_run, last_run=last_run
                    )
                )
                return
            row.schedule = schedule
            row.next_run = next_run
            if last_run is not None:
                row.last_run = last_run

        await self.store.write(fn)

"""The persistent scheduler: the timetable survives restarts, a run missed while printgate was
down runs once when it is back, and a changed schedule starts afresh."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from gateway.runtime.scheduler import Recurring, Scheduler
from gateway.store.store import Store

T0 = datetime(2026, 11, 2, 9, 0, 30, tzinfo=UTC)


class Clock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


async def _run_until(scheduler: Scheduler, done: asyncio.Event) -> None:
    task = asyncio.get_running_loop().create_task(scheduler.run())
    try:
        await asyncio.wait_for(done.wait(), 10)
        await asyncio.sleep(0.2)  # long enough for a second (wrong) run to show
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_missed_run_runs_once_after_a_restart(store: Store) -> None:
    runs: list[datetime] = []
    ran = asyncio.Event()
    clock = Clock(T0)

    async def report() -> None:
        runs.append(clock())
        ran.set()

    task = Recurring("meter-report", "every 1h", report)
    assert await Scheduler(store, [task], clock).load() == []  # first start: nothing due
    # printgate is down for five hours: five runs missed, one made up for when it is back.
    clock.moment = T0 + timedelta(hours=5)
    back = Scheduler(store, [task], clock)
    await _run_until(back, ran)
    assert runs == [clock.moment]
    assert back.next_run["meter-report"] == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    # Restarted again before the next run: nothing is due, nothing runs twice.
    assert await Scheduler(store, [task], clock).load() == []


async def test_a_changed_schedule_starts_a_fresh_timetable(store: Store) -> None:
    clock = Clock(T0)

    async def nothing() -> None:
        return None

    await Scheduler(store, [Recurring("discovery", "every 1h", nothing)], clock).load()
    clock.moment = T0 + timedelta(hours=3)
    changed = Scheduler(store, [Recurring("discovery", "daily 08:00", nothing)], clock)
    assert await changed.load() == []
    assert changed.next_run["discovery"] > clock.moment

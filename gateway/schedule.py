"""Recurrence rules for anything that runs on a timetable (meter reports, discovery, backups):
when the next run is due. Pure: no clock, no IO.

    every 30s | every 15m | every 6h | every 2d   [from 2026-01-05T08:00]
    daily 08:00                                   [from 2026-01-05]
    weekly mon,thu 14:00                          [from 2026-01-05]
    monthly 1 02:00                               [from 2026-01-05]

A monthly day past the end of a month (29, 30, 31) runs on that month's last day.

Times of day are in the machine's local time zone; `from` is the start date (and time): no run
is due before it.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EVERY = re.compile(r"^every\s+(\d+)\s*([smhd])$")
_DAILY = re.compile(r"^daily\s+(\d{1,2}):(\d{2})$")
_WEEKLY = re.compile(r"^weekly\s+([a-z,]+)\s+(\d{1,2}):(\d{2})$")
_MONTHLY = re.compile(r"^monthly\s+(\d{1,2})\s+(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Schedule:
    period: timedelta | None = None  # "every"
    at: time | None = None  # daily / weekly time of day
    weekdays: frozenset[int] = frozenset(range(7))
    month_day: int | None = None  # "monthly"
    start: datetime | None = None

    def next_after(self, moment: datetime) -> datetime:
        """The first run strictly after `moment` (aware), never before `start`."""
        moment = moment.astimezone()
        if self.start is not None and moment < self.start:
            moment = self.start - timedelta(microseconds=1)
        if self.period is not None:
            anchor = self.start or datetime(2000, 1, 3, tzinfo=UTC).astimezone()
            steps = (moment - anchor) // self.period + 1
            return (anchor + steps * self.period).astimezone(UTC)
        assert self.at is not None
        if self.month_day is not None:
            return self._next_monthly(moment, self.at, self.month_day)
        day = moment.date()
        for offset in range(8):
            candidate = datetime.combine(day + timedelta(days=offset), self.at).astimezone()
            if candidate > moment and candidate.weekday() in self.weekdays:
                return candidate.astimezone(UTC)
        raise AssertionError("a weekly schedule names at least one day")  # pragma: no cover

    @staticmethod
    def _next_monthly(moment: datetime, at: time, month_day: int) -> datetime:
        year, month = moment.year, moment.month
        while True:
            last = calendar.monthrange(year, month)[1]
            day = date(year, month, min(month_day, last))
            candidate = datetime.combine(day, at).astimezone()
            if candidate > moment:
                return candidate.astimezone(UTC)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def parse_schedule(spec: str) -> Schedule:
    """ValueError with a readable message when the text is not a schedule."""
    text = " ".join(spec.lower().split())
    start: datetime | None = None
    if " from " in text:
        text, _, when = text.partition(" from ")
        try:
            start = datetime.fromisoformat(when.upper()).astimezone()
        except ValueError as exc:
            raise ValueError(f"{spec!r}: 'from' needs a date, e.g. 2026-01-05T08:00") from exc
    if match := _EVERY.match(text):
        seconds = int(match.group(1)) * UNITS[match.group(2)]
        if seconds <= 0:
            raise ValueError(f"{spec!r}: the period must be positive")
        return Schedule(period=timedelta(seconds=seconds), start=start)
    if match := _DAILY.match(text):
        return Schedule(at=_time(spec, match.group(1), match.group(2)), start=start)
    if match := _WEEKLY.match(text):
        names = [d for d in match.group(1).split(",") if d]
        unknown = [d for d in names if d[:3] not in DAYS]
        if unknown or not names:
            raise ValueError(f"{spec!r}: days are {','.join(DAYS)}")
        days = frozenset(DAYS.index(d[:3]) for d in names)
        return Schedule(at=_time(spec, match.group(2), match.group(3)), weekdays=days, start=start)
    if match := _MONTHLY.match(text):
        day = int(match.group(1))
        if not 1 <= day <= 31:
            raise ValueError(f"{spec!r}: the day of the month is 1 to 31")
        at = _time(spec, match.group(2), match.group(3))
        return Schedule(at=at, month_day=day, start=start)
    raise ValueError(
        f"{spec!r} is not a schedule: use 'every 6h', 'daily 08:00', 'weekly mon,thu 14:00' or"
        " 'monthly 1 02:00' (optionally followed by 'from 2026-01-05T08:00')"
    )


def _time(spec: str, hours: str, minutes: str) -> time:
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(f"{spec!r}: {hours}:{minutes} is not a time of day")
    return time(int(hours), int(minutes))

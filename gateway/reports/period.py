"""The period a report covers: whole local days, from a first to a last day, both included.

Reports count in the server's local time (what the system's TZ says), as SmartTracker does ("the
time recorded by the server at the moment the job is printed") and as printgate's scheduler
does: a job belongs to the local day it finished printing on. The roll-ups store that day as a
number YYYYMMDD; a server moved to another time zone rebuilds them (`printgate report rebuild`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ..accounting.rollups import day_number

PRESETS = ("today", "yesterday", "this-week", "last-week", "this-month", "last-month", "this-year")


class PeriodError(ValueError):
    """A period that cannot be: an unknown preset, a last day before the first."""


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # included

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise PeriodError(f"the period ends ({self.last}) before it starts ({self.first})")

    @property
    def first_day(self) -> int:
        """The roll-ups' day number of the first day."""
        return day_number(self.first)

    @property
    def last_day(self) -> int:
        return day_number(self.last)

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnight of the first day to local midnight after the last."""
        return local_midnight(self.first), local_midnight(self.last + timedelta(days=1))

    @property
    def label(self) -> str:
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()} to {self.last.isoformat()}"


def local_midnight(day: date) -> datetime:
    """The local midnight that starts `day`, in UTC (the local zone's rules for that date)."""
    return datetime.combine(day, time()).astimezone().astimezone(UTC)


def preset(name: str, today: date | None = None) -> Period:
    """A named period around `today` (the local date by default). Weeks start on Monday."""
    today = today or datetime.now().astimezone().date()
    monday = today - timedelta(days=today.weekday())
    first_of_month = today.replace(day=1)
    if name == "today":
        return Period(today, today)
    if name == "yesterday":
        return Period(today - timedelta(days=1), today - timedelta(days=1))
    if name == "this-week":
        return Period(monday, monday + timedelta(days=6))
    if name == "last-week":
        return Period(monday - timedelta(days=7), monday - timedelta(days=1))
    if name == "this-month":
        return Period(first_of_month, _month_end(first_of_month))
    if name == "last-month":
        last = first_of_month - timedelta(days=1)
        return Period(last.replace(day=1), last)
    if name == "this-year":
        return Period(today.replace(month=1, day=1), today.replace(month=12, day=31))
    raise PeriodError(f"unknown period {name!r} (one of {', '.join(PRESETS)})")


def between(first: str, last: str) -> Period:
    """A period from two ISO dates as a form or the command line gives them."""
    try:
        return Period(date.fromisoformat(first), date.fromisoformat(last))
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(f"a date such as 2026-03-31 is needed: {exc}") from exc


def _month_end(first: date) -> date:
    next_month = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return next_month - timedelta(days=1)

"""The report tables: the roll-ups kept with each job's charge (migration 0010) and the
console's report desk: saved designs, schedules, their runs and bookkeepers' scopes (0011).
Apart from models.py, which holds the rest of the schema on the same Base."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, Money, UTCDateTime


class _RollupFigures:
    """What a set of charged jobs added up to, as recorded when each printed: counts, areas, ink,
    and for cost and price the net, tax and gross, and their parts (ink, paper, service, each
    line of the basis) without tax and, as *_gross, with it. Each job's parts add up to its
    net and to its gross in whole minor units, so every report's columns add up."""

    jobs: Mapped[int] = mapped_column(BigInteger, default=0)
    pages: Mapped[int] = mapped_column(BigInteger, default=0)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    sheets: Mapped[int] = mapped_column(BigInteger, default=0)
    color_impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    mono_impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    imp_mono_lines: Mapped[int] = mapped_column(BigInteger, default=0)
    imp_color_lines: Mapped[int] = mapped_column(BigInteger, default=0)
    imp_low_density: Mapped[int] = mapped_column(BigInteger, default=0)
    imp_high_density: Mapped[int] = mapped_column(BigInteger, default=0)
    area_printed_m2: Mapped[float] = mapped_column(Float, default=0.0)
    area_used_m2: Mapped[float] = mapped_column(Float, default=0.0)
    length_used_m: Mapped[float] = mapped_column(Float, default=0.0)
    ink_m2_c: Mapped[float] = mapped_column(Float, default=0.0)
    ink_m2_m: Mapped[float] = mapped_column(Float, default=0.0)
    ink_m2_y: Mapped[float] = mapped_column(Float, default=0.0)
    ink_m2_k: Mapped[float] = mapped_column(Float, default=0.0)
    ink_ml_c: Mapped[float] = mapped_column(Float, default=0.0)
    ink_ml_m: Mapped[float] = mapped_column(Float, default=0.0)
    ink_ml_y: Mapped[float] = mapped_column(Float, default=0.0)
    ink_ml_k: Mapped[float] = mapped_column(Float, default=0.0)
    area_mono_lines: Mapped[float] = mapped_column(Float, default=0.0)
    area_color_lines: Mapped[float] = mapped_column(Float, default=0.0)
    area_low_density: Mapped[float] = mapped_column(Float, default=0.0)
    area_high_density: Mapped[float] = mapped_column(Float, default=0.0)
    area_color: Mapped[float] = mapped_column(Float, default=0.0)
    area_mono: Mapped[float] = mapped_column(Float, default=0.0)
    cost_net: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_tax: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_ink: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_paper: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_service: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_mono_lines: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_color_lines: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_low_density: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_high_density: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_color: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_mono: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_net: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_tax: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_ink: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_paper: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_service: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_mono_lines: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_color_lines: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_low_density: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_high_density: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_color: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_mono: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_ink_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_paper_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_service_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_mono_lines_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_color_lines_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_low_density_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_high_density_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_color_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cost_mono_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_ink_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_paper_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_service_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_mono_lines_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_color_lines_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_low_density_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_high_density_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_color_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    price_mono_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))


class ReportRollupRow(_RollupFigures, Base):
    """Charged jobs per local day (YYYYMMDD) x printer x queue x user x project x department x
    billable: what the reports by name read. Written in the transaction of each job's charge."""

    __tablename__ = "report_rollups"

    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    printer: Mapped[str] = mapped_column(String(100), primary_key=True)
    queue: Mapped[str] = mapped_column(String(100), primary_key=True)
    user: Mapped[str] = mapped_column(String(255), primary_key=True)
    project: Mapped[str] = mapped_column(String(100), primary_key=True)
    department: Mapped[str] = mapped_column(String(100), primary_key=True)
    billable: Mapped[bool] = mapped_column(Boolean, primary_key=True)


class ReportDayRow(_RollupFigures, Base):
    """The same figures per local day x printer x queue x billable only: a year's summary
    reads a few thousand rows of it instead of every name's."""

    __tablename__ = "report_days"

    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    printer: Mapped[str] = mapped_column(String(100), primary_key=True)
    queue: Mapped[str] = mapped_column(String(100), primary_key=True)
    billable: Mapped[bool] = mapped_column(Boolean, primary_key=True)


class ReportDesignRow(Base):
    """A console account's saved custom report or custom raw data (kind "custom" | "raw"):
    its panels or columns as JSON (webui/console/reports/designs.py reads it; migration 0011)."""

    __tablename__ = "report_designs"
    __table_args__ = (UniqueConstraint("owner", "kind", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(100))  # the console account's username
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReportScheduleRow(Base):
    """A report mailed on a timetable (maintenance/report_schedules.py). `next_run` is kept
    so that a run missed while printgate was down is made once when it is back; a failed mail
    is tried again at `retry_at` for the run due at `pending_due` (migration 0011)."""

    __tablename__ = "report_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    report: Mapped[str] = mapped_column(String(20))  # summary | users | projects | departments
    name: Mapped[str] = mapped_column(String(255), default="")  # one name; "" for all
    target: Mapped[str] = mapped_column(String(120), default="")  # "", group:Q or printer:P
    options: Mapped[str] = mapped_column(Text, default="{}")  # billable, fees, with_tax
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recurrence: Mapped[str] = mapped_column(String(10))  # daily | weekly | monthly
    recipients: Mapped[str] = mapped_column(Text)  # "a@x; b@y"
    formats: Mapped[str] = mapped_column(String(20))  # "pdf", "xlsx" or "pdf,xlsx"
    next_run: Mapped[datetime] = mapped_column(UTCDateTime())
    pending_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReportRunRow(Base):
    """One run of a scheduled report: when it was due, when it ran, how it went (migration
    0011)."""

    __tablename__ = "report_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule_id: Mapped[int] = mapped_column(Integer, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(10))  # sent | notice | retry | failed
    detail: Mapped[str] = mapped_column(Text, default="")


class ReportScopeRow(Base):
    """What a bookkeeper's reports may show: JSON lists of queues (printer groups), projects
    and departments; NULL in a column is no limit there (migration 0011)."""

    __tablename__ = "report_scopes"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    queues: Mapped[str | None] = mapped_column(Text, nullable=True)
    projects: Mapped[str | None] = mapped_column(Text, nullable=True)
    departments: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReportMonthRow(_RollupFigures, Base):
    """The same figures per month (YYYYMM) x printer x queue x billable, once for all jobs
    (dimension "") and once per user, project and department (dimension and name): the whole
    months of a period are read here, a few hundred rows a month, and only the days at its
    edges from the per-day tables."""

    __tablename__ = "report_months"

    # Dimension first: a report reads one dimension's months, a contiguous range of the key.
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)  # "" | user | ...
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    printer: Mapped[str] = mapped_column(String(100), primary_key=True)
    queue: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    billable: Mapped[bool] = mapped_column(Boolean, primary_key=True)

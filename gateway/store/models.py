"""SQLAlchemy 2.x models. Schema changes go through an Alembic migration in migrations/versions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: SQLite keeps no zone, PostgreSQL may be set to any."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


class Money(TypeDecorator[Decimal]):
    """Exact amounts on every database: stored as whole ten-thousandths, so they add up in SQL
    without floating point, and read back as Decimal."""

    impl = BigInteger
    cache_ok = True
    SCALE = 10_000

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = value * self.SCALE
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than four decimals")
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)) / self.SCALE


class Base(DeclarativeBase):
    pass


class QueueRow(Base):
    """A printer group as clients see it: provisioned from the config (origin "config", shown
    locked in the console) or made in the console (origin "console")."""

    __tablename__ = "queues"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    uuid: Mapped[str] = mapped_column(String(45), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    auth: Mapped[str] = mapped_column(String(20), default="none")
    require: Mapped[str] = mapped_column(String(100), default="")  # "project,department"
    allow_billable: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_comment: Mapped[bool] = mapped_column(Boolean, default=False)
    origin: Mapped[str] = mapped_column(String(10), default="config")  # config | console
    info: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(Text, default="")
    # The submission paths that need authentication: "ipp,web,release" (any of them).
    touch_points: Mapped[str] = mapped_column(String(100), default="ipp,web,release")


class PrinterRow(Base):
    __tablename__ = "printers"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    uri: Mapped[str] = mapped_column(Text)
    graceful_failover: Mapped[bool] = mapped_column(Boolean, default=True)
    origin: Mapped[str] = mapped_column(String(10), default="config")  # config | console
    snmp: Mapped[str] = mapped_column(Text, default="")  # JSON of config.SnmpAccess; "": none


class QueueMemberRow(Base):
    __tablename__ = "queue_members"

    queue: Mapped[str] = mapped_column(String(100), primary_key=True)
    printer: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class _Listed:
    """Users, projects and departments of a queue share one shape."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default="enabled")  # enabled|disabled|removed
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QueueUserRow(_Listed, Base):
    __tablename__ = "queue_users"
    __table_args__ = (UniqueConstraint("queue", "name"),)

    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    address: Mapped[str] = mapped_column(String(255), default="")


class ProjectRow(_Listed, Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("queue", "name"),)

    description: Mapped[str] = mapped_column(String(255), default="")  # migration 0009


class DepartmentRow(_Listed, Base):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("queue", "name"),)

    description: Mapped[str] = mapped_column(String(255), default="")  # migration 0009


class SettingRow(Base):
    """Units, currency, tax rate and the like: key and value as text."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RateTableRow(Base):
    """A printer model's cost table or price table, as JSON costing.RateTable reads; model "*"
    serves every model without its own."""

    __tablename__ = "rate_tables"

    model: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # cost | price
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AppUserRow(Base):
    """Administrators and bookkeepers of the web UI."""

    __tablename__ = "app_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    # A one-time password (the first administrator's, or one an administrator set) must be
    # replaced at the next sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str] = mapped_column(String(64), default="")  # empty: no second factor
    language: Mapped[str] = mapped_column(String(10), default="")  # empty: the console's


class ConsoleSessionRow(Base):
    """A signed-in console session. The cookie carries a random token; only its SHA-256 is
    kept, so a copy of the database signs no one in. Deleting the row ends the session."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    address: Mapped[str] = mapped_column(String(64), default="")


class PasswordResetRow(Base):
    """A "forgot password" link: single use, valid until expires_at; the mail carries the
    token, the store its SHA-256."""

    __tablename__ = "password_resets"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuditRow(Base):
    """One change made in the console or the CLI: who, when, through what, to what, and the
    values before and after (JSON objects)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(10))  # console | cli | ipp
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(255), default="")
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = {"sqlite_autoincrement": True}  # job ids are never reused

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(45), unique=True)
    queue: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    user: Mapped[str] = mapped_column(String(255), default="")
    origin_host: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[int] = mapped_column(Integer, index=True)
    reasons: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str] = mapped_column(Text, default="")
    document_format: Mapped[str] = mapped_column(String(127), default="")
    document_name: Mapped[str] = mapped_column(String(255), default="")
    document_path: Mapped[str] = mapped_column(Text, default="")
    document_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    template: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    hold_until: Mapped[str] = mapped_column(String(64), default="")
    copies: Mapped[int] = mapped_column(Integer, default=1)
    sides: Mapped[str] = mapped_column(String(64), default="")
    color_mode: Mapped[str] = mapped_column(String(64), default="")
    media: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    processing_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    printer: Mapped[str] = mapped_column(String(100), default="")
    upstream_uri: Mapped[str] = mapped_column(Text, default="")
    upstream_job_id: Mapped[int] = mapped_column(Integer, default=0)
    forward_phase: Mapped[str] = mapped_column(String(20), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    impressions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    media_sheets: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    failure_reason: Mapped[str] = mapped_column(Text, default="")
    project: Mapped[str] = mapped_column(String(100), default="")
    department: Mapped[str] = mapped_column(String(100), default="")
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The printgate that took the job in (its spool holds the document): only it resumes it.
    instance: Mapped[str] = mapped_column(String(64), default="", index=True)
    # What printgate measured of the document (pages, impressions and media_sheets above are
    # what the printer reported).
    analysis_status: Mapped[str] = mapped_column(String(10), default="")  # "" | done | failed
    analysis_error: Mapped[str] = mapped_column(Text, default="")
    measured_pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    measured_impressions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    measured_sheets: Mapped[int | None] = mapped_column(Integer, nullable=True)
    color_impressions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mono_impressions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    coverage_c: Mapped[float | None] = mapped_column(Float, nullable=True)
    coverage_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    coverage_y: Mapped[float | None] = mapped_column(Float, nullable=True)
    coverage_k: Mapped[float | None] = mapped_column(Float, nullable=True)
    area_printed_m2: Mapped[float | None] = mapped_column(Float, nullable=True)
    area_used_m2: Mapped[float | None] = mapped_column(Float, nullable=True)
    length_used_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    measurement: Mapped[str] = mapped_column(Text, default="")  # JSON: categories, ink, ...
    media_type: Mapped[str] = mapped_column(String(100), default="")
    # Cost and price as computed when the job was recorded, from the tables then in force.
    printer_model: Mapped[str] = mapped_column(String(255), default="")
    currency: Mapped[str] = mapped_column(String(3), default="")
    cost: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)  # without tax
    cost_tax: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    cost_gross: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)  # with tax
    price: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    price_tax: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    price_gross: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    cost_breakdown: Mapped[str] = mapped_column(Text, default="")  # JSON
    price_breakdown: Mapped[str] = mapped_column(Text, default="")  # JSON
    costed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The per-job meter check (gateway/snmp): the printer's life count after the job minus
    # before it, when the printer was otherwise idle; mismatch when it disagrees with the
    # analysed impressions.
    meter_delta: Mapped[int | None] = mapped_column(Integer, nullable=True)
    meter_mismatch: Mapped[bool] = mapped_column(Boolean, default=False)


class SnmpDeviceRow(Base):
    """A device printgate reads meters from: a configured printer, a manual add, or one that
    discovery found."""

    __tablename__ = "snmp_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(300), unique=True)  # host:port
    printer: Mapped[str] = mapped_column(String(100), default="")  # [[printers]] name, if any
    origin: Mapped[str] = mapped_column(String(20), default="manual")  # config|manual|discovered
    model: Mapped[str] = mapped_column(String(255), default="")
    serial: Mapped[str] = mapped_column(String(255), default="")
    sys_name: Mapped[str] = mapped_column(String(255), default="")
    location: Mapped[str] = mapped_column(String(255), default="")
    sys_object_id: Mapped[str] = mapped_column(String(255), default="")
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_read: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # Not yet in a mailed report: highlighted as new there.
    reported: Mapped[bool] = mapped_column(Boolean, default=False)


class MeterReadingRow(Base):
    """One meter read of one device, with its supplies and state at that time."""

    __tablename__ = "meter_readings"
    __table_args__ = (Index("ix_meter_readings_device_time", "device_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(Integer)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime())
    total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    mono: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    color: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    unit: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(20), default="")
    errors: Mapped[str] = mapped_column(Text, default="")  # comma-separated bit names
    supplies: Mapped[str] = mapped_column(Text, default="[]")  # JSON list


class SnmpAlertRow(Base):
    """One alert episode: opened when a condition starts, closed when it ends; mailed once."""

    __tablename__ = "snmp_alerts"
    __table_args__ = (Index("ix_snmp_alerts_open", "device_id", "closed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # low-supply|supply-empty|error|stale
    subject: Mapped[str] = mapped_column(String(255), default="")  # supply or error bit
    message: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ScheduledTaskRow(Base):
    """A recurring task's timetable, kept so that restarts neither skip nor repeat runs."""

    __tablename__ = "scheduled_tasks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    schedule: Mapped[str] = mapped_column(String(255))
    next_run: Mapped[datetime] = mapped_column(UTCDateTime())
    last_run: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# The clean-up's plan and deletion pick ended jobs created before a date: one range per state
# in this index instead of reading every job (migration 0010).
Index("ix_jobs_state_created", JobRow.state, JobRow.created_at)


class GridTabRow(Base):
    """A queue's own name for its Projects or Departments tab in the console (migration 0009)."""

    __tablename__ = "grid_tabs"

    queue: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # project | department
    label: Mapped[str] = mapped_column(String(100))


class LinkedListRow(Base):
    """A queue's list kept in step with a CSV file on the server, re-read on a schedule
    (accounting/linked_lists.py); `failing` is set once the file turns bad, so that the alert
    goes out once per episode (migration 0009)."""

    __tablename__ = "linked_lists"

    queue: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # user|project|department
    path: Mapped[str] = mapped_column(Text)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    digest: Mapped[str] = mapped_column(String(64), default="")  # SHA-256 of the file last applied
    problems: Mapped[str] = mapped_column(Text, default="")  # JSON: [[line, message], ...]
    failing: Mapped[bool] = mapped_column(Boolean, default=False)


# The console's grids (migration 0009) page a queue's rows sorted on any column, by name
# within it: each order is an index, read in order, and counts by status read one alone.
GRID_ORDERS: dict[str, tuple[type[_Listed], tuple[str, ...]]] = {
    "queue_users": (
        QueueUserRow,
        ("name", "status", "first_name", "last_name", "email", "address"),
    ),
    "projects": (ProjectRow, ("name", "status", "description")),
    "departments": (DepartmentRow, ("name", "status", "description")),
}
for _table, (_model, _orders) in GRID_ORDERS.items():
    for _column in _orders:
        _then = "status" if _column == "name" else "name"
        Index(
            f"ix_{_table}_by_{_column}",
            _model.queue,
            getattr(_model, _column),
            getattr(_model, _then),
        )


# Reports read jobs by the time they finished: each name's jobs, the raw export (migration 0010).
Index("ix_jobs_completed", JobRow.completed_at)

# The console's jobs view filtered by user, newest first (migration 0012).
Index("ix_jobs_user_id", JobRow.user, JobRow.id)

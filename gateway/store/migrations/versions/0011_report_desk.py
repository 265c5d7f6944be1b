"""Reports in the console: custom reports, schedules and their runs, bookkeepers' scopes.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.store.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_designs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("owner", "kind", "name"),
    )
    op.create_table(
        "report_schedules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("report", sa.String(20), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("target", sa.String(120), nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("recurrence", sa.String(10), nullable=False),
        sa.Column("recipients", sa.Text, nullable=False),
        sa.Column("formats", sa.String(20), nullable=False),
        sa.Column("next_run", UTCDateTime(), nullable=False),
        sa.Column("pending_due", UTCDateTime(), nullable=True),
        sa.Column("retry_at", UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_report_schedules_owner", "report_schedules", ["owner"])
    op.create_table(
        "report_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("schedule_id", sa.Integer, nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("ran_at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_report_runs_schedule_id", "report_runs", ["schedule_id"])
    op.create_table(
        "report_scopes",
        sa.Column("username", sa.String(100), primary_key=True),
        sa.Column("queues", sa.Text, nullable=True),
        sa.Column("projects", sa.Text, nullable=True),
        sa.Column("departments", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("report_scopes")
    op.drop_index("ix_report_runs_schedule_id", "report_runs")
    op.drop_table("report_runs")
    op.drop_index("ix_report_schedules_owner", "report_schedules")
    op.drop_table("report_schedules")
    op.drop_table("report_designs")

"""Fleet monitoring: SNMP devices, meter readings, alert episodes, the scheduler's timetable;
jobs gain the per-job meter check (life count delta and a mismatch flag).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.store.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snmp_devices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("address", sa.String(300), nullable=False, unique=True),
        sa.Column("printer", sa.String(100), nullable=False, server_default=""),
        sa.Column("origin", sa.String(20), nullable=False, server_default="manual"),
        sa.Column("model", sa.String(255), nullable=False, server_default=""),
        sa.Column("serial", sa.String(255), nullable=False, server_default=""),
        sa.Column("sys_name", sa.String(255), nullable=False, server_default=""),
        sa.Column("location", sa.String(255), nullable=False, server_default=""),
        sa.Column("sys_object_id", sa.String(255), nullable=False, server_default=""),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_read", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("reported", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "meter_readings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.Integer, nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=False),
        sa.Column("total", sa.BigInteger, nullable=True),
        sa.Column("mono", sa.BigInteger, nullable=True),
        sa.Column("color", sa.BigInteger, nullable=True),
        sa.Column("unit", sa.String(40), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False, server_default=""),
        sa.Column("errors", sa.Text, nullable=False, server_default=""),
        sa.Column("supplies", sa.Text, nullable=False, server_default="[]"),
    )
    op.create_index("ix_meter_readings_device_time", "meter_readings", ["device_id", "read_at"])
    op.create_table(
        "snmp_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False, server_default=""),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("mailed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_snmp_alerts_open", "snmp_alerts", ["device_id", "closed_at"])
    op.create_table(
        "scheduled_tasks",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("schedule", sa.String(255), nullable=False),
        sa.Column("next_run", UTCDateTime(), nullable=False),
        sa.Column("last_run", UTCDateTime(), nullable=True),
    )
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(sa.Column("meter_delta", sa.Integer, nullable=True))
        jobs.add_column(
            sa.Column("meter_mismatch", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("meter_mismatch")
        jobs.drop_column("meter_delta")
    op.drop_table("scheduled_tasks")
    op.drop_index("ix_snmp_alerts_open", "snmp_alerts")
    op.drop_table("snmp_alerts")
    op.drop_index("ix_meter_readings_device_time", "meter_readings")
    op.drop_table("meter_readings")
    op.drop_table("snmp_devices")

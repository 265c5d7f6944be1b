"""Accounting entities: queue settings, printers and group members, per-queue users, projects
and departments, settings; jobs gain who they are charged to.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.store.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LISTED = ("queue_users", "projects", "departments")


def upgrade() -> None:
    with op.batch_alter_table("queues") as queues:
        queues.add_column(sa.Column("auth", sa.String(20), nullable=False, server_default="none"))
        queues.add_column(sa.Column("require", sa.String(100), nullable=False, server_default=""))
        queues.add_column(
            sa.Column("allow_billable", sa.Boolean, nullable=False, server_default=sa.false())
        )
        queues.add_column(
            sa.Column("allow_comment", sa.Boolean, nullable=False, server_default=sa.false())
        )
    op.create_table(
        "printers",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("graceful_failover", sa.Boolean, nullable=False),
    )
    op.create_table(
        "queue_members",
        sa.Column("queue", sa.String(100), primary_key=True),
        sa.Column("printer", sa.String(100), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    for table in LISTED:
        extra = []
        if table == "queue_users":
            extra = [
                sa.Column(name, sa.String(size), nullable=False, server_default="")
                for name, size in (
                    ("first_name", 100),
                    ("last_name", 100),
                    ("email", 255),
                    ("address", 255),
                )
            ]
        op.create_table(
            table,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("queue", sa.String(100), nullable=False, index=True),
            sa.Column("name", sa.String(100), nullable=False),
            sa.Column("status", sa.String(10), nullable=False),
            sa.Column("password_hash", sa.String(255), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            *extra,
            sa.UniqueConstraint("queue", "name"),
        )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(sa.Column("project", sa.String(100), nullable=False, server_default=""))
        jobs.add_column(sa.Column("department", sa.String(100), nullable=False, server_default=""))
        jobs.add_column(sa.Column("billable", sa.Boolean, nullable=False, server_default=sa.true()))
        jobs.add_column(sa.Column("comment", sa.Text, nullable=False, server_default=""))
        jobs.add_column(sa.Column("released_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        for column in ("released_at", "comment", "billable", "department", "project"):
            jobs.drop_column(column)
    op.drop_table("settings")
    for table in LISTED:
        op.drop_table(table)
    op.drop_table("queue_members")
    op.drop_table("printers")
    with op.batch_alter_table("queues") as queues:
        for column in ("allow_comment", "allow_billable", "require", "auth"):
            queues.drop_column(column)

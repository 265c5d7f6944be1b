"""Initial schema: queues, application users, jobs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.store.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queues",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("uuid", sa.String(45), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "app_users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("full_name", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(45), nullable=False, unique=True),
        sa.Column("queue", sa.String(100), nullable=False, index=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("origin_host", sa.String(255), nullable=False),
        sa.Column("state", sa.Integer, nullable=False, index=True),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("document_format", sa.String(127), nullable=False),
        sa.Column("document_name", sa.String(255), nullable=False),
        sa.Column("document_path", sa.Text, nullable=False),
        sa.Column("document_bytes", sa.BigInteger, nullable=False),
        sa.Column("template", sa.LargeBinary, nullable=False),
        sa.Column("hold_until", sa.String(64), nullable=False),
        sa.Column("copies", sa.Integer, nullable=False),
        sa.Column("sides", sa.String(64), nullable=False),
        sa.Column("color_mode", sa.String(64), nullable=False),
        sa.Column("media", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("processing_at", UTCDateTime(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("printer", sa.String(100), nullable=False),
        sa.Column("upstream_uri", sa.Text, nullable=False),
        sa.Column("upstream_job_id", sa.Integer, nullable=False),
        sa.Column("forward_phase", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("impressions", sa.Integer, nullable=True),
        sa.Column("media_sheets", sa.Integer, nullable=True),
        sa.Column("pages", sa.Integer, nullable=True),
        sa.Column("failure_reason", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("jobs")
    op.drop_table("app_users")
    op.drop_table("queues")

"""Indexes the console's pages need on a big store: ended jobs by creation date (the database
clean-up's plan counts them; without it, a million jobs are read for each plan).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_state_created", "jobs", ["state", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_state_created", table_name="jobs")

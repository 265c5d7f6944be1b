"""The console's live jobs view: jobs by user in id order, so that a view filtered by user
(alone or with a queue, state or dates) walks one user's jobs instead of every job.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_user_id", "jobs", ["user", "id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_user_id", table_name="jobs")

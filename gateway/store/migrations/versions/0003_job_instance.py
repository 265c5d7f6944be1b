"""Jobs remember which printgate took them in, so gateways sharing one database each resume
only their own unfinished jobs (the documents are in their own spools).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(sa.Column("instance", sa.String(64), nullable=False, server_default=""))
        jobs.create_index("ix_jobs_instance", ["instance"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_index("ix_jobs_instance")
        jobs.drop_column("instance")

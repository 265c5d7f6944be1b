"""The console's queue grids: a description for projects and departments, the queues' own
names for their Projects and Departments tabs, the lists linked to a CSV file on the
server, and the indexes the grids count and page by.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.store.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


# Each sortable column of a grid, then the name (the name, then the status).
GRID_ORDERS = {
    "queue_users": ("name", "status", "first_name", "last_name", "email", "address"),
    "projects": ("name", "status", "description"),
    "departments": ("name", "status", "description"),
}


def upgrade() -> None:
    for table in ("projects", "departments"):
        with op.batch_alter_table(table) as listed:
            listed.add_column(
                sa.Column("description", sa.String(255), nullable=False, server_default="")
            )
    for table, columns in GRID_ORDERS.items():
        for column in columns:
            then = "status" if column == "name" else "name"
            op.create_index(f"ix_{table}_by_{column}", table, ["queue", column, then])
    op.create_table(
        "grid_tabs",
        sa.Column("queue", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("label", sa.String(100), nullable=False),
    )
    op.create_table(
        "linked_lists",
        sa.Column("queue", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("problems", sa.Text, nullable=False),
        sa.Column("failing", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    for table, columns in GRID_ORDERS.items():
        for column in columns:
            op.drop_index(f"ix_{table}_by_{column}", table_name=table)
    op.drop_table("linked_lists")
    op.drop_table("grid_tabs")
    for table in ("projects", "departments"):
        with op.batch_alter_table(table) as listed:
            listed.drop_column("description")

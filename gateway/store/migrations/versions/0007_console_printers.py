"""Printers and queues made in the web console live in the store beside those provisioned from
the TOML: each row says where it comes from (config rows are shown locked), printers keep
their SNMP access, queues their description and the submission paths that need
authentication (SmartTracker's touch points).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every row before this revision was provisioned from the config.
    with op.batch_alter_table("printers") as printers:
        printers.add_column(
            sa.Column("origin", sa.String(10), nullable=False, server_default="config")
        )
        printers.add_column(sa.Column("snmp", sa.Text, nullable=False, server_default=""))
    with op.batch_alter_table("queues") as queues:
        queues.add_column(
            sa.Column("origin", sa.String(10), nullable=False, server_default="config")
        )
        queues.add_column(sa.Column("info", sa.Text, nullable=False, server_default=""))
        queues.add_column(sa.Column("location", sa.Text, nullable=False, server_default=""))
        queues.add_column(
            sa.Column(
                "touch_points", sa.String(100), nullable=False, server_default="ipp,web,release"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("queues") as queues:
        for name in ("touch_points", "location", "info", "origin"):
            queues.drop_column(name)
    with op.batch_alter_table("printers") as printers:
        for name in ("snmp", "origin"):
            printers.drop_column(name)

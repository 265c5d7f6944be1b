"""Jobs keep what printgate measured of their document and what they cost and are charged;
printer models get cost and price tables.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TEXT_COLUMNS = ("analysis_error", "measurement", "cost_breakdown", "price_breakdown")
STRING_COLUMNS = {"analysis_status": 10, "media_type": 100, "printer_model": 255, "currency": 3}
INTEGER_COLUMNS = (
    "measured_pages",
    "measured_impressions",
    "measured_sheets",
    "color_impressions",
    "mono_impressions",
)
FLOAT_COLUMNS = (
    "coverage_c",
    "coverage_m",
    "coverage_y",
    "coverage_k",
    "area_printed_m2",
    "area_used_m2",
    "length_used_m",
)
# Amounts in whole ten-thousandths (models.Money).
MONEY_COLUMNS = ("cost", "cost_tax", "cost_gross", "price", "price_tax", "price_gross")


def upgrade() -> None:
    op.create_table(
        "rate_tables",
        sa.Column("model", sa.String(255), primary_key=True),
        sa.Column("kind", sa.String(10), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    with op.batch_alter_table("jobs") as jobs:
        for name in TEXT_COLUMNS:
            jobs.add_column(sa.Column(name, sa.Text, nullable=False, server_default=""))
        for name, length in STRING_COLUMNS.items():
            jobs.add_column(sa.Column(name, sa.String(length), nullable=False, server_default=""))
        for name in INTEGER_COLUMNS:
            jobs.add_column(sa.Column(name, sa.Integer, nullable=True))
        for name in FLOAT_COLUMNS:
            jobs.add_column(sa.Column(name, sa.Float, nullable=True))
        for name in MONEY_COLUMNS:
            jobs.add_column(sa.Column(name, sa.BigInteger, nullable=True))
        jobs.add_column(sa.Column("costed_at", sa.DateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        for name in (
            *TEXT_COLUMNS,
            *STRING_COLUMNS,
            *INTEGER_COLUMNS,
            *FLOAT_COLUMNS,
            *MONEY_COLUMNS,
            "costed_at",
        ):
            jobs.drop_column(name)
    op.drop_table("rate_tables")

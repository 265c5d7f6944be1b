"""Reports: the roll-up tables kept with each job's charge (report_rollups per day, printer,
queue, user, project, department and billable; report_days per day, printer, queue and billable;
report_months per month, printer, queue, billable, and user, project or department), and jobs
indexed by the time they finished.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.store.models import Money

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The figures both tables add up, frozen here as this revision made them.
COUNTS = (
    "jobs", "pages", "impressions", "sheets", "color_impressions", "mono_impressions",
    "imp_mono_lines", "imp_color_lines", "imp_low_density", "imp_high_density",
)  # fmt: skip
QUANTITIES = (
    "area_printed_m2", "area_used_m2", "length_used_m",
    "ink_m2_c", "ink_m2_m", "ink_m2_y", "ink_m2_k", "ink_ml_c", "ink_ml_m", "ink_ml_y", "ink_ml_k",
    "area_mono_lines", "area_color_lines", "area_low_density", "area_high_density",
    "area_color", "area_mono",
)  # fmt: skip
GROSS_PARTS = (
    "ink", "paper", "service",
    "mono_lines", "color_lines", "low_density", "high_density", "color", "mono",
)  # fmt: skip
AMOUNT_PARTS = (
    "net", "tax", "gross", "ink", "paper", "service",
    "mono_lines", "color_lines", "low_density", "high_density", "color", "mono",
)  # fmt: skip


def _figures() -> list[sa.Column[object]]:
    columns: list[sa.Column[object]] = []
    columns += [sa.Column(name, sa.BigInteger, nullable=False) for name in COUNTS]
    columns += [sa.Column(name, sa.Float, nullable=False) for name in QUANTITIES]
    for kind in ("cost", "price"):
        columns += [sa.Column(f"{kind}_{part}", Money(), nullable=False) for part in AMOUNT_PARTS]
    for kind in ("cost", "price"):
        columns += [
            sa.Column(f"{kind}_{part}_gross", Money(), nullable=False) for part in GROSS_PARTS
        ]
    return columns


def upgrade() -> None:
    op.create_table(
        "report_rollups",
        sa.Column("day", sa.Integer, primary_key=True),
        sa.Column("printer", sa.String(100), primary_key=True),
        sa.Column("queue", sa.String(100), primary_key=True),
        sa.Column("user", sa.String(255), primary_key=True),
        sa.Column("project", sa.String(100), primary_key=True),
        sa.Column("department", sa.String(100), primary_key=True),
        sa.Column("billable", sa.Boolean, primary_key=True),
        *_figures(),
    )
    op.create_table(
        "report_days",
        sa.Column("day", sa.Integer, primary_key=True),
        sa.Column("printer", sa.String(100), primary_key=True),
        sa.Column("queue", sa.String(100), primary_key=True),
        sa.Column("billable", sa.Boolean, primary_key=True),
        *_figures(),
    )
    op.create_table(
        "report_months",
        sa.Column("dimension", sa.String(20), primary_key=True),
        sa.Column("month", sa.Integer, primary_key=True),
        sa.Column("printer", sa.String(100), primary_key=True),
        sa.Column("queue", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("billable", sa.Boolean, primary_key=True),
        *_figures(),
    )
    op.create_index("ix_jobs_completed", "jobs", ["completed_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_completed", table_name="jobs")
    op.drop_table("report_months")
    op.drop_table("report_days")
    op.drop_table("report_rollups")

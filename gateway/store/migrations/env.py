"""Alembic environment: runs on the connection printgate hands over (see store/db.py)."""

from __future__ import annotations

from alembic import context

from gateway.store import report_models  # noqa: F401  (its tables are on the same Base)
from gateway.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
)
with context.begin_transaction():
    context.run_migrations()

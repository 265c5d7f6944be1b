"""The store: SQLAlchemy models, Alembic migrations, the async store and the outage journal."""

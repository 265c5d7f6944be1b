"""The accounting store: SQLAlchemy models, Alembic migrations and the async store."""

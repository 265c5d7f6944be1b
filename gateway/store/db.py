"""Engine creation and schema migration at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event, func, pool, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ..config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock key serialising migrations of one PostgreSQL database ("prgt").
MIGRATION_LOCK = 0x70726774


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def sync_writer_engine(engine: AsyncEngine) -> Engine | None:
    """For SQLite, a synchronous engine on the same file for the writer thread; None for
    servers with a real async driver."""
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return None
    # The writer thread creates and uses the connection; dispose may run elsewhere.
    writer = create_sync_engine(
        url.set(drivername="sqlite"),
        connect_args={"timeout": 30, "check_same_thread": False},
        poolclass=pool.SingletonThreadPool,
    )
    event.listen(writer, "connect", _sqlite_pragmas)
    return writer


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; FULL makes each commit durable, and group
    # commit in store.py keeps that to one fsync per batch of writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _alembic_config(connection: Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring an empty or older database to the current schema. On PostgreSQL, gateways sharing
    the database take turns: each waits for the lock, then finds the schema as the one before
    it left it, instead of all finding it empty and all but one failing."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Released by the commit, so the next one's upgrade sees this one's schema.
            await connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        await connection.run_sync(_upgrade)


def missing_data(config: Config) -> str | None:
    """Why there is no printgate data to work on, or None. Opening a SQLite store that does not
    exist would create an empty one, and a command run in the wrong directory or without its
    --config would then seem to work on nothing. A server database (PostgreSQL) is never
    "missing": whether it answers is the store's to say."""
    try:
        url = make_url(config.database_url)
    except ArgumentError:
        return None  # Store.open reports a malformed URL in its own words
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(url.database or "")
    if database.exists():
        return None
    data_dir = config.server.data_dir
    where = data_dir if database.parent == data_dir else database
    return f"no printgate data in {where}: run `printgate serve` first, or pass --config"

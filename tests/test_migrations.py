"""Migrations: an empty database and one left at an older revision both come up right, on
SQLite and on PostgreSQL (PRINTGATE_TEST_DB); on PostgreSQL, gateways starting together migrate
one at a time."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from gateway.ipp import JobState
from gateway.jobs.manager import JobManager
from gateway.store.db import MIGRATIONS, _alembic_config, create_engine, migrate
from gateway.store.store import Store
from gateway.tasks import TaskKeeper
from tests.peers import REPO_ROOT


async def test_an_older_database_is_upgraded_keeping_its_jobs(database_url: str) -> None:
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: command.upgrade(_alembic_config(c), "0001"))
        # Portable SQL: "user" is a reserved word in PostgreSQL, and a bound empty bytes value
        # is an empty BLOB or bytea alike.
        await connection.execute(
            text(
                'INSERT INTO jobs (uuid, queue, name, "user", origin_host, state, reasons,'
                " message, document_format, document_name, document_path, document_bytes,"
                " template, hold_until, copies, sides, color_mode, media, created_at, printer,"
                " upstream_uri, upstream_job_id, forward_phase, attempts, failure_reason)"
                " VALUES ('urn:uuid:old', 'q', 'old job', 'alice', '', 9, '', '', '', '', '',"
                " 0, :template, '', 1, '', '', '', :created, '', '', 0, '', 0, '')"
            ),
            {"template": b"", "created": datetime(2026, 1, 1)},
        )
    await migrate(engine)
    await engine.dispose()

    tasks = TaskKeeper()
    store = await Store.open(database_url, tasks)
    try:
        old = await JobManager(store).get(1)
    finally:
        await store.close()
        await tasks.cancel_all()
    assert old is not None and old.name == "old job" and old.state == JobState.COMPLETED
    assert (old.project, old.department, old.billable) == ("", "", True)
    assert old.user == "alice" and old.created_at.isoformat() == "2026-01-01T00:00:00+00:00"


async def _version(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            version = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return version.scalar()
    finally:
        await engine.dispose()


async def test_migrating_twice_changes_nothing(database_url: str) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    await migrate(engine)
    await engine.dispose()
    assert await _version(database_url) == ScriptDirectory(str(MIGRATIONS)).get_current_head()


MIGRATE = """
import asyncio, sys
from gateway.store.db import create_engine, migrate

async def main():
    engine = create_engine(sys.argv[1])
    await migrate(engine)
    await engine.dispose()

asyncio.run(main())
"""


@pytest.mark.postgresql
async def test_gateways_starting_together_migrate_one_at_a_time(database_url: str) -> None:
    # Separate processes, as gateways are: without the advisory lock in db.migrate, each finds
    # the database empty and all but one fail creating the tables another has just made.
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            MIGRATE,
            database_url,
            cwd=REPO_ROOT,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    results = [(await p.communicate())[1].decode() for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], results
    assert await _version(database_url) == ScriptDirectory(str(MIGRATIONS)).get_current_head()

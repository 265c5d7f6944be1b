"""Migrations: an empty database and one left at an older revision both come up right."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from gateway.accounting.db import _alembic_config, create_engine, migrate
from gateway.accounting.store import Store
from gateway.ipp import JobState
from gateway.jobs import JobManager
from gateway.tasks import TaskKeeper


async def test_an_older_database_is_upgraded_keeping_its_jobs(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: command.upgrade(_alembic_config(c), "0001"))
        await connection.execute(
            text(
                "INSERT INTO jobs (uuid, queue, name, user, origin_host, state, reasons, message,"
                " document_format, document_name, document_path, document_bytes, template,"
                " hold_until, copies, sides, color_mode, media, created_at, printer,"
                " upstream_uri, upstream_job_id, forward_phase, attempts, failure_reason)"
                " VALUES ('urn:uuid:old', 'q', 'old job', 'alice', '', 9, '', '', '', '', '',"
                " 0, x'', '', 1, '', '', '', '2026-01-01 00:00:00', '', '', 0, '', 0, '')"
            )
        )
    await migrate(engine)
    await engine.dispose()

    tasks = TaskKeeper()
    store = await Store.open(url, tasks)
    old = await JobManager(store).get(1)
    assert old is not None and old.name == "old job" and old.state == JobState.COMPLETED
    assert (old.project, old.department, old.billable) == ("", "", True)
    await store.close()
    await tasks.cancel_all()


async def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    await migrate(engine)
    await migrate(engine)
    async with engine.connect() as connection:
        version = (
            await connection.execute(text("SELECT version_num FROM alembic_version"))
        ).scalar()
    assert version == "0002"
    await engine.dispose()

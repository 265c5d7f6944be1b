"""Throw-away PostgreSQL databases on the machine's server, for PRINTGATE_TEST_DB=postgresql.

The server is the machine's own (127.0.0.1:5432, trust auth, user postgres; scripts/test.sh
starts its cluster when it is stopped). Every test gets a database of its own, created here and
dropped at teardown with its connections terminated, so tests run side by side under
pytest-xdist. The API is synchronous like tests/peers/ (asyncpg runs in a thread of its own,
so callers inside or outside an event loop are alike); nothing here imports pytest.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg

from tests.peers import PeerError

T = TypeVar("T")

# Where the test databases live: the maintenance database of the machine's server.
ADMIN_DSN = os.environ.get("PRINTGATE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PREFIX = "pg_test_"
START_HINT = (
    "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
    " (scripts/test.sh does this)"
)


def _run(call: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
    with ThreadPoolExecutor(1, thread_name_prefix="pg-admin") as thread:
        return thread.submit(asyncio.run, call(*args)).result()


async def _connect() -> Any:
    return await asyncpg.connect(ADMIN_DSN, timeout=10)


def _url(database: str) -> str:
    """The SQLAlchemy URL printgate is given for `database`."""
    server = ADMIN_DSN.split("://", 1)[1].rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{server}/{database}"


def check_server() -> str:
    """The server's version; PeerError saying how to start it when it does not answer."""

    async def version() -> str:
        connection = await _connect()
        try:
            return str(await connection.fetchval("SHOW server_version"))
        finally:
            await connection.close()

    try:
        return _run(version)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise PeerError(
            f"PRINTGATE_TEST_DB=postgresql, but PostgreSQL at {ADMIN_DSN} does not answer"
            f" ({exc.__class__.__name__}: {exc}); {START_HINT}"
        ) from exc


class PostgresDatabase:
    """One fresh, empty database; `url` is what goes in printgate's [database] url."""

    def __init__(self) -> None:
        # The creating process's id in the name lets a later run drop what a crashed one left.
        self.name = f"{PREFIX}{os.getpid()}_{secrets.token_hex(6)}"
        self.url = _url(self.name)

    def create(self) -> PostgresDatabase:
        async def create() -> None:
            connection = await _connect()
            try:
                await connection.execute(f'CREATE DATABASE "{self.name}"')
            finally:
                await connection.close()

        _run(create)
        return self

    def drop(self) -> None:
        _run(_drop, self.name)

    def __enter__(self) -> PostgresDatabase:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.drop()


async def _drop(name: str) -> None:
    connection = await _connect()
    try:
        # FORCE terminates whatever is still connected (a gateway killed mid-test, a pool).
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def drop_leftovers() -> int:
    """Drop test databases whose creating process is gone (a crashed or killed run)."""

    async def leftovers() -> list[str]:
        connection = await _connect()
        try:
            rows = await connection.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", PREFIX + "%"
            )
        finally:
            await connection.close()
        return [row["datname"] for row in rows]

    dropped = 0
    for name in _run(leftovers):
        pid = name[len(PREFIX) :].split("_", 1)[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            _run(_drop, name)
            dropped += 1
    return dropped

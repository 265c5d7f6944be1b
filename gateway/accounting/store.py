"""The async store. Writes are group-committed: every write queued while one transaction is
in flight goes into the next one, so many concurrent job submissions share one commit (and one
fsync) without any of them being acknowledged before its row is durable."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ..tasks import TaskKeeper
from .db import create_engine, migrate
from .models import AppUserRow, JobRow, QueueRow

log = logging.getLogger(__name__)
T = TypeVar("T")
WriteFn = Callable[[AsyncSession], Awaitable[Any]]


class StoreUnavailable(RuntimeError):
    """The database cannot be reached."""


@dataclass
class _Write:
    fn: WriteFn
    done: asyncio.Future[Any]


class Store:
    def __init__(self, engine: AsyncEngine, tasks: TaskKeeper):
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._pending: list[_Write] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._writer = tasks.spawn(self._write_loop(), name="store-writer")

    @classmethod
    async def open(cls, url: str, tasks: TaskKeeper) -> Store:
        engine = create_engine(url)
        await migrate(engine)
        return cls(engine, tasks)

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        await self.engine.dispose()

    # --- the two primitives ---------------------------------------------------------------

    async def write(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        if self._closed:
            raise StoreUnavailable("store is closed")
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append(_Write(fn, done))
        self._wake.set()
        return await done

    async def read(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self._sessions() as session:
            return await fn(session)

    async def _write_loop(self) -> None:
        while not (self._closed and not self._pending):
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[_Write]) -> None:
        try:
            results = await self._run(batch)
        except Exception as exc:
            if len(batch) == 1:
                _reject(batch[0], exc)
                return
            # One bad write must not sink its neighbours: retry each on its own.
            for write in batch:
                try:
                    (result,) = await self._run([write])
                except Exception as single_exc:
                    _reject(write, single_exc)
                else:
                    _resolve(write, result)
            return
        for write, result in zip(batch, results, strict=True):
            _resolve(write, result)

    async def _run(self, batch: list[_Write]) -> list[Any]:
        async with self._sessions() as session, session.begin():
            return [await write.fn(session) for write in batch]

    # --- queues -------------------------------------------------------------------------------

    async def queue_uuids(self, names: Iterable[str]) -> dict[str, str]:
        """Each queue's printer-uuid, created once and kept across restarts."""
        wanted = list(names)

        async def fn(session: AsyncSession) -> dict[str, str]:
            rows = (await session.scalars(select(QueueRow))).all()
            known = {row.name: row.uuid for row in rows}
            for name in wanted:
                if name not in known:
                    known[name] = f"urn:uuid:{uuidlib.uuid4()}"
                    session.add(QueueRow(name=name, uuid=known[name], created_at=now()))
            return known

        return await self.write(fn)

    # --- application users ------------------------------------------------------------------

    async def count_app_users(self) -> int:
        async def fn(session: AsyncSession) -> int:
            return int(await session.scalar(select(func.count()).select_from(AppUserRow)) or 0)

        return await self.read(fn)

    async def add_app_user(
        self, username: str, password_hash: str, role: str, email: str, full_name: str = ""
    ) -> None:
        async def fn(session: AsyncSession) -> None:
            session.add(
                AppUserRow(
                    username=username,
                    password_hash=password_hash,
                    role=role,
                    email=email,
                    full_name=full_name,
                    created_at=now(),
                )
            )

        await self.write(fn)

    # --- jobs ---------------------------------------------------------------------------------

    async def insert_job(self, fields: dict[str, Any]) -> int:
        async def fn(session: AsyncSession) -> int:
            row = JobRow(**fields)
            session.add(row)
            await session.flush()
            return row.id

        return await self.write(fn)

    async def update_job(self, job_id: int, fields: dict[str, Any]) -> None:
        async def fn(session: AsyncSession) -> None:
            await session.execute(update(JobRow).where(JobRow.id == job_id).values(**fields))

        await self.write(fn)

    async def get_job(self, job_id: int) -> JobRow | None:
        async def fn(session: AsyncSession) -> JobRow | None:
            return await session.get(JobRow, job_id)

        return await self.read(fn)

    async def list_jobs(
        self,
        queue: str | None,
        states: Iterable[int],
        user: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[JobRow]:
        query = select(JobRow).where(JobRow.state.in_(list(states)))
        if queue is not None:
            query = query.where(JobRow.queue == queue)
        if user is not None:
            query = query.where(JobRow.user == user)
        query = query.order_by(JobRow.id.desc() if newest_first else JobRow.id)
        if limit:
            query = query.limit(limit)

        async def fn(session: AsyncSession) -> list[JobRow]:
            return list((await session.scalars(query)).all())

        return await self.read(fn)


def _resolve(write: _Write, result: Any) -> None:
    if not write.done.done():
        write.done.set_result(result)


def _reject(write: _Write, exc: BaseException) -> None:
    if not write.done.done():
        write.done.set_exception(exc)


def now() -> datetime:
    return datetime.now(UTC)


async def open_store(url: str, tasks: TaskKeeper) -> Store:
    return await Store.open(url, tasks)


__all__ = ["Store", "StoreUnavailable", "create_engine", "now", "open_store"]

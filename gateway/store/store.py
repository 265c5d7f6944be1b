"""The store. Reads are async. Writes are group-committed: every write queued while one
transaction is in flight goes into the next one, so many concurrent job submissions share one
commit (and one fsync) without any of them being acknowledged before its row is durable.

A write is a synchronous unit of work on a Session. With SQLite a batch runs whole in one
dedicated writer thread (SQLite has one writer anyway), so the event loop pays one thread trip
per batch instead of one per statement; with PostgreSQL it runs on the async connection. A new
job's write may carry what must be durable before its row (its document, in the spool's intake
log): that is done for a whole batch at once (one append, one sync) while the batch before it
commits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from ..config import Config
from ..tasks import TaskKeeper
from .db import create_engine, migrate, sync_writer_engine
from .job_insert import JOBS_TABLE, MAX_ROWS_AT_ONCE, commit_new_jobs, insert_jobs
from .models import AppUserRow, JobRow, PrinterRow, QueueMemberRow, QueueRow

log = logging.getLogger(__name__)
T = TypeVar("T")
WriteFn = Callable[[Session], Any]
# pg_advisory_xact_lock keys of the read-then-write steps of start-up that gateways sharing one
# PostgreSQL database take in turns (db.MIGRATION_LOCK is the first such step).
PROVISION_LOCK = 0x70726775
FIRST_ADMIN_LOCK = 0x70726776


class StoreUnavailable(RuntimeError):
    """The database cannot be reached."""


@dataclass
class _Write:
    fn: WriteFn | None
    done: asyncio.Future[Any]
    job_row: dict[str, Any] | None = None  # new jobs are inserted together, in one statement
    # Done (in a thread) before this write commits: its document made durable; should it
    # fail, this write fails with its error and the rest of the batch goes on.
    before: Callable[[], None] | None = None
    failure: BaseException | None = None
    result: Any = None


class Store:
    def __init__(self, engine: AsyncEngine, tasks: TaskKeeper):
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._writer_engine = sync_writer_engine(engine)
        self._writer_thread: ThreadPoolExecutor | None = None
        self._writer_sessions: sessionmaker[Session] | None = None
        if self._writer_engine is not None:
            self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
            self._writer_sessions = sessionmaker(self._writer_engine, expire_on_commit=False)
        self._pending: list[_Write] = []
        self._wake = asyncio.Event()
        self._durable: list[_Write] = []  # their `before` done, waiting for their commit
        self._durable_wake = asyncio.Event()
        self._closed = False
        self._writer = tasks.spawn(self._write_loop(), name="store-writer")
        self._committer = tasks.spawn(self._commit_loop(), name="store-committer")

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
        with contextlib.suppress(asyncio.CancelledError):
            await self._committer
        if self._writer_thread is not None and self._writer_engine is not None:
            self._writer_thread.submit(self._writer_engine.dispose).result()
            self._writer_thread.shutdown()
        await self.engine.dispose()

    # --- the two primitives ---------------------------------------------------------------

    async def write(self, fn: Callable[[Session], T]) -> T:
        result: T = await self._enqueue(_Write(fn, asyncio.get_running_loop().create_future()))
        return result

    async def _enqueue(self, write: _Write) -> Any:
        if self._closed:
            raise StoreUnavailable("store is closed")
        self._pending.append(write)
        self._wake.set()
        return await write.done

    async def read(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        try:
            async with self._sessions() as session:
                return await fn(session)
        except Exception as exc:
            if unreachable(exc):
                raise StoreUnavailable(f"the accounting store is unreachable: {exc}") from exc
            raise

    # Each write has its `before` done (its document made durable) before its own commit, and
    # writes commit in the order they came. With a writer thread (SQLite) that thread does
    # both for a batch, one hand-off: intake is bound by the GIL, and a second thread trip a
    # batch cost more (5-25 % fewer jobs a second in bench/intake.py) than overlapping the
    # two syncs saved. Without one (PostgreSQL's async driver) the documents are synced in a
    # worker thread while the batch before commits.

    async def _write_loop(self) -> None:
        try:
            while not (self._closed and not self._pending):
                await self._wake.wait()
                self._wake.clear()
                batch, self._pending = self._pending, []
                if self._writer_thread is None and any(w.before is not None for w in batch):
                    await asyncio.to_thread(_make_durable, batch)
                self._durable += batch
                self._durable_wake.set()
        finally:
            self._durable_wake.set()

    async def _commit_loop(self) -> None:
        while not (self._writer.done() and not self._durable):
            await self._durable_wake.wait()
            self._durable_wake.clear()
            batch, self._durable = self._durable, []
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[_Write]) -> None:
        try:
            done = await self._run(batch)
        except Exception as exc:
            if unreachable(exc):  # no write of the batch can succeed now
                down = StoreUnavailable(f"the accounting store is unreachable: {exc}")
                for write in batch:
                    _reject(write, down)
                return
            if len(batch) == 1:
                _reject(batch[0], exc)
                return
            # One bad write must not sink its neighbours: retry each on its own.
            for write in batch:
                try:
                    await self._run([write])
                except Exception as single_exc:
                    _reject(write, single_exc)
                else:
                    _settle(write)
            return
        for write in done:
            _settle(write)

    async def _run(self, batch: list[_Write]) -> list[_Write]:
        """Run the batch in one transaction; each write's outcome is left on it."""
        if self._writer_thread is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._writer_thread, self._run_in_thread, batch)
        ready = [w for w in batch if w.failure is None]
        async with self._sessions() as session, session.begin():
            results = await session.run_sync(_apply, ready)
        return _outcomes(batch, ready, results)

    def _run_in_thread(self, batch: list[_Write]) -> list[_Write]:
        assert self._writer_sessions is not None and self._writer_engine is not None
        _make_durable(batch)  # free for a write already made durable (a retry)
        ready = [w for w in batch if w.failure is None]
        new_jobs = [w.job_row for w in ready if w.job_row is not None]
        if new_jobs and len(new_jobs) == len(ready) <= MAX_ROWS_AT_ONCE:
            # Intake's batch: new jobs only, in one statement (job_insert.py says why).
            results: list[Any] = commit_new_jobs(self._writer_engine, new_jobs)
        else:
            with self._writer_sessions() as session, session.begin():
                results = _apply(session, ready)
        return _outcomes(batch, ready, results)

    # --- queues -------------------------------------------------------------------------------

    async def provision(self, config: Config) -> dict[str, str]:
        """Bring the printers, queues and their members in the store in line with the config
        (origin "config": the console shows them locked); each queue's printer-uuid is created
        once and kept across restarts. A name the console had used becomes the config's: the
        TOML wins. Rows of printers and queues since removed from the TOML stay, unserved, so
        a queue put back keeps its uuid."""

        def fn(session: Session) -> dict[str, str]:
            _take_turns(session, PROVISION_LOCK)
            for printer in config.printers:
                session.merge(
                    PrinterRow(
                        name=printer.name,
                        uri=printer.uri,
                        graceful_failover=printer.graceful_failover,
                        origin="config",
                        snmp=json.dumps(asdict(printer.snmp), sort_keys=True)
                        if printer.snmp
                        else "",
                    )
                )
            known = {row.name: row for row in session.scalars(select(QueueRow))}
            for queue in config.queues:
                row = known.get(queue.name)
                if row is None:
                    row = QueueRow(
                        name=queue.name, uuid=f"urn:uuid:{uuidlib.uuid4()}", created_at=now()
                    )
                    session.add(row)
                    known[queue.name] = row
                row.auth = queue.auth
                row.require = ",".join(queue.require)
                row.allow_billable = queue.allow_billable
                row.allow_comment = queue.allow_comment
                row.origin = "config"
                row.info = queue.info
                row.location = queue.location
                row.touch_points = "ipp,web,release"
                session.execute(delete(QueueMemberRow).where(QueueMemberRow.queue == queue.name))
                for position, printer_name in enumerate(queue.printers):
                    session.add(
                        QueueMemberRow(queue=queue.name, printer=printer_name, position=position)
                    )
            return {name: row.uuid for name, row in known.items()}

        return await self.write(fn)

    # --- application users ------------------------------------------------------------------

    async def admin_emails(self) -> list[str]:
        """Where alerts, reports and backup notices go when [mail] names no one."""

        async def fn(session: AsyncSession) -> list[str]:
            query = select(AppUserRow.email).where(AppUserRow.role == "admin")
            return [e for e in await session.scalars(query) if e and "@" in e]

        return await self.read(fn)

    async def count_app_users(self) -> int:
        async def fn(session: AsyncSession) -> int:
            return int(await session.scalar(select(func.count()).select_from(AppUserRow)) or 0)

        return await self.read(fn)

    async def add_app_user(
        self, username: str, password_hash: str, role: str, email: str, full_name: str = ""
    ) -> None:
        def fn(session: Session) -> None:
            session.add(_app_user(username, password_hash, role, email, full_name))

        await self.write(fn)

    async def add_first_app_user(
        self, username: str, password_hash: str, role: str, email: str, full_name: str = ""
    ) -> bool:
        """Add this user only when there is no application user at all (the first
        administrator, at start-up); whether it was added. Gateways starting together on one
        PostgreSQL database take turns, so exactly one of them adds it."""

        def fn(session: Session) -> bool:
            _take_turns(session, FIRST_ADMIN_LOCK)
            if session.scalar(select(func.count()).select_from(AppUserRow)):
                return False
            user = _app_user(username, password_hash, role, email, full_name)
            user.must_change_password = True  # its password was printed once: a one-time one
            session.add(user)
            return True

        return await self.write(fn)

    # --- jobs ---------------------------------------------------------------------------------

    async def insert_job(
        self, fields: dict[str, Any], before: Callable[[], None] | None = None
    ) -> int:
        """The new job's id, once its row is committed (and `before` done, ahead of the
        commit: its document made durable)."""
        loop = asyncio.get_running_loop()
        write = _Write(None, loop.create_future(), job_row=fields, before=before)
        return int(await self._enqueue(write))

    async def update_job(self, job_id: int, fields: dict[str, Any]) -> None:
        await self.update_jobs([(job_id, fields)])

    async def update_jobs(self, changes: list[tuple[int, dict[str, Any]]]) -> None:
        """Several jobs' field changes, in one transaction."""

        def fn(session: Session) -> None:
            for job_id, fields in changes:
                session.execute(update(JobRow).where(JobRow.id == job_id).values(**fields))

        await self.write(fn)

    async def replay(self, entries: list[dict[str, Any]]) -> None:
        """Write a journal into the store in one transaction. Jobs already there (a replay
        that committed before the journal was cleared) are not inserted again."""

        def fn(session: Session) -> None:
            new = [e["id"] for e in entries if e["op"] == "insert"]
            present = set(session.scalars(select(JobRow.id).where(JobRow.id.in_(new))))
            for entry in entries:
                if entry["op"] == "insert" and entry["id"] not in present:
                    session.execute(insert(JOBS_TABLE), [entry["fields"]])
                elif entry["op"] == "update":
                    session.execute(
                        update(JobRow).where(JobRow.id == entry["id"]).values(**entry["fields"])
                    )

        if entries:
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
        instance: str | None = None,
    ) -> list[JobRow]:
        """instance: only the jobs that printgate took in (and those from before jobs had one)."""
        query = select(JobRow).where(JobRow.state.in_(list(states)))
        if instance is not None:
            query = query.where(JobRow.instance.in_([instance, ""]))
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

    async def uncharged_jobs(self, instance: str, completed: int) -> list[JobRow]:
        """This printgate's printed and measured jobs whose charge a restart cut short."""
        query = select(JobRow).where(
            JobRow.state == completed,
            JobRow.analysis_status == "done",  # AnalysisStatus.DONE, as the jobs layer has it
            JobRow.costed_at.is_(None),
            JobRow.instance == instance,
        )

        async def fn(session: AsyncSession) -> list[JobRow]:
            return list((await session.scalars(query)).all())

        return await self.read(fn)


def _take_turns(session: Session, key: int) -> None:
    """On PostgreSQL, wait until no other gateway is in the step `key` names; the lock is held
    to the end of the transaction, so the next one in reads what this one wrote. A SQLite
    database belongs to one gateway: nothing to wait for."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(key)))


def _make_durable(batch: list[_Write]) -> None:
    for write in batch:
        if write.before is not None and write.failure is None:
            try:
                write.before()
            except Exception as exc:
                write.failure = exc


def _outcomes(batch: list[_Write], ready: list[_Write], results: list[Any]) -> list[_Write]:
    for write, result in zip(ready, results, strict=True):
        write.result = result
    return batch


def _apply(session: Session, batch: list[_Write]) -> list[Any]:
    rows = [w.job_row for w in batch if w.job_row is not None]
    new_ids = iter(insert_jobs(session, rows) if rows else ())
    return [next(new_ids) if w.fn is None else w.fn(session) for w in batch]


# SQLSTATE classes of a server that is away: connection exceptions (08), and the server
# shutting down or starting up (57P01-57P03).
UNREACHABLE_SQLSTATES = ("08", "57P")


def unreachable(exc: BaseException) -> bool:
    """Is this the database being away (rather than a bad write)? Looks through the chain of
    causes, since drivers wrap the socket error or the server's SQLSTATE differently."""
    seen: BaseException | None = exc
    for _ in range(8):  # a wrapped error is a few levels deep at most
        if seen is None:
            return False
        if isinstance(
            seen, StoreUnavailable | OSError | TimeoutError | OperationalError | InterfaceError
        ):
            return True
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        state = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(state, str) and state.startswith(UNREACHABLE_SQLSTATES):
            return True
        cause = getattr(seen, "orig", None) or seen.__cause__
        seen = cause if isinstance(cause, BaseException) and cause is not seen else None
    return False


def _app_user(
    username: str, password_hash: str, role: str, email: str, full_name: str
) -> AppUserRow:
    return AppUserRow(
        username=username,
        password_hash=password_hash,
        role=role,
        email=email,
        full_name=full_name,
        created_at=now(),
    )


def _settle(write: _Write) -> None:
    if write.failure is not None:
        _reject(write, write.failure)
    elif not write.done.done():
        write.done.set_result(write.result)


def _reject(write: _Write, exc: BaseException) -> None:
    if not write.done.done():
        write.done.set_exception(exc)


def now() -> datetime:
    return datetime.now(UTC)


__all__ = ["Store", "StoreUnavailable", "create_engine", "now"]

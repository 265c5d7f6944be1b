"""Scheduled reports (gateway/maintenance/report_schedules.py) through a running printgate and
a real aiosmtpd: a schedule's report arrives with its PDF and Excel attachments, as far as its
owner's scope allows; a run missed while printgate was stopped is sent once after the restart;
a mail the server refuses is tried again, then the administrators are told."""

from __future__ import annotations

import asyncio
import io
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from gateway.identity.accounts import Accounts
from gateway.maintenance.report_schedules import (
    ReportSchedules,
    ScheduleSpec,
    add_schedule,
    first_run,
    period_for,
    schedules,
)
from gateway.maintenance.report_scopes import save_scope
from gateway.reports.period import Period
from gateway.reports.scope import Scope
from gateway.runtime.console_settings import ConsoleSettings
from gateway.store.audit import Actor
from gateway.store.models import Base
from gateway.store.report_models import ReportRunRow, ReportScheduleRow
from gateway.store.store import Store, now
from gateway.tasks import TaskKeeper
from tests import test_reports_fixture as fx
from tests.harness import InProcess, in_process
from tests.snmp_peers import SmtpSink, free_tcp_port

CLI = Actor.cli()


def yesterday_specs() -> list[fx.Spec]:
    """The fixture's jobs, all printed yesterday: what a daily report sent today covers."""
    day = datetime.now().astimezone().date() - timedelta(days=1)
    return [replace(spec, day=day) for spec in fx.SPECS]


def mail_config(sink: Any) -> dict[str, Any]:
    return {"host": sink.host, "port": sink.port, "security": "none", "to": ["ops@example.org"]}


def serving(tmp_path: Path, database_url: str, sink: Any) -> Any:
    return in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": (tmp_path / "out").as_uri()}],
        queues=[{"name": "office", "printers": ["virtual"]}],
        mail=mail_config(sink),
    )


def store_of(gw: InProcess) -> Store:
    return gw.gateway.jobs.store


def attachments(message: EmailMessage) -> dict[str, bytes]:
    found = {}
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found[str(part.get_filename())] = payload
    return found


def xlsx_names(body: bytes) -> set[str]:
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    sheet = book.worksheets[0]
    names = set()
    for row in sheet.iter_rows(values_only=True):
        if row and isinstance(row[0], str) and row[0] in {"alice", "bob", "carol"}:
            names.add(row[0])
    return names


def pdf_text(body: bytes, tmp_path: Path) -> str:
    path = tmp_path / "attached.pdf"
    path.write_bytes(body)
    result = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return result.stdout


async def runs(store: Store, schedule_id: int) -> list[ReportRunRow]:
    async def fn(session: AsyncSession) -> list[ReportRunRow]:
        query = select(ReportRunRow).where(ReportRunRow.schedule_id == schedule_id)
        return list(await session.scalars(query.order_by(ReportRunRow.id)))

    return await store.read(fn)


async def schedule_row(store: Store, schedule_id: int) -> ReportScheduleRow:
    async def fn(session: AsyncSession) -> ReportScheduleRow:
        row = await session.get(ReportScheduleRow, schedule_id)
        assert row is not None
        return row

    return await store.read(fn)


async def until(condition: Any, seconds: float, what: str) -> Any:
    """Poll an async condition until it holds (bounded)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await condition()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def spec(**changes: Any) -> ScheduleSpec:
    base = ScheduleSpec(
        report="users",
        starts_at=now() + timedelta(seconds=1),
        recurrence="daily",
        recipients="books@example.org; boss@example.org",
        formats=("pdf", "xlsx"),
    )
    return replace(base, **changes)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def keeper(tmp_path: Path, database_url: str, sink: SmtpSink) -> AsyncIterator[InProcess]:
    async with serving(tmp_path, database_url, sink) as gw:
        await Accounts(store_of(gw)).add(
            CLI, "keeper", "a long keeper password", "bookkeeper", "k@example.org"
        )
        await fx.load(store_of(gw), yesterday_specs())
        yield gw


async def test_a_scheduled_report_arrives_with_its_attachments(
    keeper: InProcess, sink: SmtpSink, tmp_path: Path
) -> None:
    store = store_of(keeper)
    schedule_id = await add_schedule(store, CLI, "admin", spec())
    [mail] = await asyncio.to_thread(sink.wait, 1, 40)
    assert mail["To"] == "books@example.org, boss@example.org"
    assert "Report by users" in mail["Subject"]
    files = attachments(mail)
    assert sorted(name.rsplit(".", 1)[1] for name in files) == ["pdf", "xlsx"]
    assert xlsx_names(next(b for n, b in files.items() if n.endswith(".xlsx"))) == {
        "alice",
        "bob",
        "carol",
    }
    text = pdf_text(next(b for n, b in files.items() if n.endswith(".pdf")), tmp_path)
    hand = fx.add_up(yesterday_specs(), "cost")
    assert fx.money(hand.net) in text  # the users' total, as the hand adds it up
    [run] = await until(lambda: runs(store, schedule_id), 10, "the run logged")
    assert run.outcome == "sent"
    row = await schedule_row(store, schedule_id)
    assert row.next_run > now() + timedelta(hours=23)  # tomorrow at the same time


async def test_a_scheduled_report_keeps_to_its_owners_scope(
    keeper: InProcess, sink: SmtpSink
) -> None:
    store = store_of(keeper)
    await save_scope(store, CLI, "keeper", Scope(projects=frozenset({"Bridge"})))
    await add_schedule(store, CLI, "keeper", spec(formats=("xlsx",)))
    [mail] = await asyncio.to_thread(sink.wait, 1, 40)
    [body] = attachments(mail).values()
    bridge = {s.user for s in fx.SPECS if s.project == "Bridge"}
    assert xlsx_names(body) == bridge != {"alice", "bob", "carol"}


async def test_a_run_missed_during_a_stop_is_sent_once_after_the_restart(
    tmp_path: Path, database_url: str, sink: SmtpSink
) -> None:
    async with serving(tmp_path, database_url, sink) as gw:
        store = store_of(gw)
        await fx.load(store, yesterday_specs())
        three_days_ago = now() - timedelta(days=3)
        schedule_id = await add_schedule(store, CLI, "admin", spec(starts_at=three_days_ago))
        assert (await schedule_row(store, schedule_id)).next_run > now()
    # While printgate is stopped two of its daily runs go by.
    missed = now() - timedelta(days=2)

    def back_in_time(session: Session) -> None:
        row = session.get(ReportScheduleRow, schedule_id)
        assert row is not None
        row.next_run = missed

    tasks = TaskKeeper()
    offline = await Store.open(database_url, tasks)
    try:
        await offline.write(back_in_time)
    finally:
        await offline.close()
        await tasks.cancel_all()
    assert sink.received() == []
    async with serving(tmp_path, database_url, sink) as gw:
        store = store_of(gw)
        [mail] = await asyncio.to_thread(sink.wait, 1, 40)
        assert len(attachments(mail)) == 2
        logged = await until(lambda: runs(store, schedule_id), 10, "the run logged")
        assert [r.outcome for r in logged] == ["sent"]
        assert logged[0].due_at == missed
        # Once, not once per missed day: the timetable goes on from now.
        assert (await schedule_row(store, schedule_id)).next_run > now()
        assert len(sink.received()) == 1


class RefusingSink:
    """aiosmtpd that refuses one recipient (a mailbox that does not exist) and keeps the
    rest."""

    def __init__(self, refused: str):
        from aiosmtpd.controller import Controller

        self.messages: list[bytes] = []
        outer = self

        class Handler:
            async def handle_RCPT(
                self, server: Any, session: Any, envelope: Any, address: str, options: Any
            ) -> str:
                if address == refused:
                    return "550 no such mailbox"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.append(envelope.content)
                return "250 OK"

        self.host, self.port = "127.0.0.1", free_tcp_port()
        self.controller = Controller(Handler(), hostname=self.host, port=self.port)


async def test_a_refused_mail_is_retried_then_the_administrators_are_told(
    store: Store, tmp_path: Path
) -> None:
    refusing = RefusingSink("nobody@example.org")
    refusing.controller.start()
    try:
        config = _config(tmp_path, mail_config(refusing))
        settings = ConsoleSettings(store, config)
        await Accounts(store).add(
            CLI, "admin", "a long admin password", "admin", "boss@example.org"
        )
        schedule_id = await add_schedule(store, CLI, "admin", spec(recipients="nobody@example.org"))
        moments = iter([now() + timedelta(minutes=2 + m) for m in range(200)])
        desk = ReportSchedules(
            store,
            settings,
            retry_delays=(timedelta(minutes=1), timedelta(minutes=5)),
            clock=lambda: next(moments),
        )
        ran = [await desk.run_due() for _ in range(12)]
        outcomes = [r.outcome for r in await runs(store, schedule_id)]
        assert outcomes == ["retry", "retry", "failed"], (ran, outcomes)
        assert (await schedule_row(store, schedule_id)).retry_at is None
        [notice] = refusing.messages  # to the administrators (the [mail] to address)
        assert b"could not be sent" in notice and b"nobody@example.org" in notice
    finally:
        refusing.controller.stop()


def _config(tmp_path: Path, mail: dict[str, Any]) -> Any:
    from gateway.config import load
    from tests.peers import toml_dumps

    path = tmp_path / "printgate.toml"
    path.write_text(toml_dumps({"mail": mail, "server": {"data_dir": str(tmp_path / "data")}}))
    return load(str(path))


def test_each_run_covers_the_period_just_ended() -> None:
    due = datetime(2026, 3, 10, 8, 0).astimezone()
    assert period_for("daily", due) == Period(date(2026, 3, 9), date(2026, 3, 9))
    assert period_for("weekly", due) == Period(date(2026, 3, 3), date(2026, 3, 9))
    assert period_for("monthly", due) == Period(date(2026, 2, 1), date(2026, 2, 28))
    start = datetime(2026, 1, 31, 9, 30).astimezone()
    assert first_run(start, "monthly", start).astimezone().date() == date(2026, 1, 31)
    after = first_run(start, "monthly", start + timedelta(days=1)).astimezone()
    assert (after.date(), after.hour, after.minute) == (date(2026, 2, 28), 9, 30)


async def test_schedules_are_listed_with_their_owner(store: Store) -> None:
    await add_schedule(store, CLI, "keeper", spec())
    await add_schedule(store, CLI, "other", spec(report="summary"))
    assert [s.owner for s in await schedules(store, "keeper")] == ["keeper"]
    assert len(await schedules(store, None)) == 2


async def test_the_migration_makes_what_the_models_say(store: Store) -> None:
    tables = {"report_designs", "report_schedules", "report_runs", "report_scopes"}

    def diff(connection: Any) -> list[Any]:
        changes = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        flat = [c for change in changes for c in (change if isinstance(change, list) else [change])]
        return [c for c in flat if any(t in repr(c) for t in tables)]

    async with store.engine.connect() as connection:
        assert await connection.run_sync(diff) == []

"""Several gateways on one PostgreSQL database: each takes jobs, all jobs land in the one store
with ids that never clash, and each gateway answers for the others' finished jobs.

PostgreSQL only (marker `postgresql`): it runs in the PRINTGATE_TEST_DB=postgresql pass and is
deselected in the SQLite pass, where a database belongs to one gateway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.config import parse
from gateway.ipp import JobState, Op, Tag
from gateway.ipp import model as m
from gateway.store.models import AppUserRow
from gateway.store.store import Store
from gateway.tasks import TaskKeeper
from tests.ipp_call import ipp, job_state, print_job
from tests.peers import IppEvePrinter, Printgate, make_pdf, wait_for

pytestmark = pytest.mark.postgresql


def _stored_jobs(url: str) -> dict[int, tuple[str, str, int]]:
    """Every job in the database: id -> (name, user, state)."""

    async def read() -> dict[int, tuple[str, str, int]]:
        tasks = TaskKeeper()
        store = await Store.open(url, tasks)
        try:
            rows = await store.list_jobs(None, [int(s) for s in JobState])
        finally:
            await store.close()
            await tasks.cancel_all()
        return {row.id: (row.name, row.user, row.state) for row in rows}

    return asyncio.run(read())


def _uuid(gateway: Printgate, queue: str) -> str:
    attrs = ipp(gateway.queue_uri(queue), Op.GET_PRINTER_ATTRIBUTES).group(Tag.PRINTER)
    assert attrs is not None
    return attrs.get("printer-uuid").text() or ""  # type: ignore[union-attr]


async def _stores(url: str, count: int, tasks: TaskKeeper) -> list[Store]:
    return [await Store.open(url, tasks) for _ in range(count)]


async def test_stores_starting_together_provision_and_add_the_first_admin_once(
    database_url: str,
) -> None:
    # The read-then-write steps of start-up take turns (store._take_turns): without that, the
    # stores all see no queue and no administrator, and all but one fail on a unique key.
    config = parse(
        {
            "printers": [{"name": "eve", "uri": "ipp://127.0.0.1:1/ipp/print"}],
            "queues": [{"name": "office", "printers": ["eve"]}],
        }
    )
    tasks = TaskKeeper()
    stores = await _stores(database_url, 3, tasks)
    try:
        uuids = await asyncio.gather(*(store.provision(config) for store in stores))
        added = await asyncio.gather(
            *(store.add_first_app_user("admin", "x", "admin", "a@b") for store in stores)
        )

        async def admins(session: Any) -> int:
            return int(await session.scalar(select(func.count()).select_from(AppUserRow)))

        assert await stores[0].read(admins) == 1
    finally:
        for store in stores:
            await store.close()
        await tasks.cancel_all()
    assert uuids[0] == uuids[1] == uuids[2] and set(uuids[0]) == {"office"}
    assert sorted(added) == [False, False, True]


def test_two_gateways_share_one_database(
    printgate_factory: Callable[..., Printgate],
    ippeveprinter: IppEvePrinter,
    database_url: str,
    tmp_path: Path,
) -> None:
    assert database_url.startswith("postgresql+asyncpg://")
    config = {
        "database": {"url": database_url},
        "printers": [{"name": "eve", "uri": ippeveprinter.uri}],
        "queues": [{"name": "office", "printers": ["eve"], "auth": "none"}],
    }
    # One after the other: started at once, both gateways' Service._first_admin (count, then
    # insert) would see no administrator and the slower would die on the unique username;
    # Store.add_first_app_user is the race-free step for it to use.
    first = printgate_factory(config)
    second = printgate_factory(config)  # migrates nothing, provisions the same queue
    assert first.data_dir != second.data_dir
    # The queue's identity lives in the store, so both gateways are the same printer to clients.
    assert _uuid(first, "office") == _uuid(second, "office") != ""
    assert sum("First administrator" in gw.log() for gw in (first, second)) == 1

    submitted: dict[int, Printgate] = {}
    for i, gateway in enumerate((first, second, first, second)):
        document = make_pdf(tmp_path / f"job-{i}.pdf", text=f"job {i}").read_bytes()
        job_id = print_job(gateway.queue_uri("office"), document, name=f"job-{i}", user=f"u{i}")
        assert job_id not in submitted, f"job id {job_id} given twice"
        submitted[job_id] = gateway
    for job_id, gateway in submitted.items():
        wait_for(
            lambda j=job_id, g=gateway: (
                job_state(g.queue_uri("office"), j)[0] == JobState.COMPLETED
            ),
            60,
            what=f"job {job_id} completed",
        )
    assert len(ippeveprinter.wait_documents(4)) == 4

    stored = _stored_jobs(database_url)
    assert sorted(stored) == sorted(submitted)
    assert sorted(stored.values()) == [
        (f"job-{i}", f"u{i}", int(JobState.COMPLETED)) for i in range(4)
    ]
    # Finished jobs are read from the store: each gateway answers for the other's too.
    for gateway in (first, second):
        reply = ipp(
            gateway.queue_uri("office"),
            Op.GET_JOBS,
            m.keyword("which-jobs", "completed"),
            m.keyword("requested-attributes", "job-id"),
        )
        listed = {g.get("job-id").value for g in reply.groups_of(Tag.JOB)}  # type: ignore[union-attr]
        assert listed == set(submitted)

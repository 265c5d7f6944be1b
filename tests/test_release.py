"""The held-job desk the web release page uses: list held jobs, claim one with credentials,
project, department, billable and comment, cancel, and expiry. In process, on a real store and
the built-in virtual printer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.accounting.lists import Lists
from gateway.config import PrinterConfig, QueueConfig, embedded_default
from gateway.hooks import Hooks
from gateway.identity.gate import AUTH_FAILED, INFO_NEEDED, Gate
from gateway.identity.release import Claim, ReleaseDesk, ReleaseError
from gateway.identity.sql import SqlIdentity
from gateway.ipp import JobState
from gateway.jobs.events import JobEnded
from gateway.jobs.manager import JobManager
from gateway.jobs.record import Job
from gateway.jobs.spool import Spool
from gateway.jobs.state import HeldForCredentials
from gateway.printers.dispatcher import Dispatcher
from gateway.printers.state import Printer, refresh
from gateway.printers.virtual import FilePrinter
from gateway.runtime.passwords import hash_password
from gateway.store.audit import Actor
from gateway.store.store import Store
from gateway.tasks import TaskKeeper

QUEUE = QueueConfig(
    name="plotters",
    printers=("virtual",),
    auth="list-password",
    require=("project", "department"),
    allow_billable=True,
    allow_comment=True,
)


@dataclass
class Desk:
    desk: ReleaseDesk
    jobs: JobManager
    lists: Lists
    spool: Spool
    output: Path

    async def held_job(self, user: str = "android-phone", reason: str = INFO_NEEDED) -> Job:
        async def data() -> AsyncIterator[bytes]:
            yield b"%PDF-1.4 held document"

        document = await self.spool.receive(data())
        job = await self.jobs.create(
            HeldForCredentials(reason, "held"),
            uuid=f"urn:uuid:{uuid.uuid4()}",
            queue=QUEUE.name,
            user=user,
            document_path=document.path.name,
            document_bytes=document.size,
            document_format="application/pdf",
        )
        return job


class SpoolCleaner:
    """In the service the accountant removes an ended job's document once it is measured;
    here, with nothing to measure, at once."""

    def __init__(self, spool: Spool):
        self.spool = spool

    async def job_ended(self, event: JobEnded) -> None:
        if event.job.document_path:
            await self.spool.remove(self.spool.root / event.job.document_path)


@pytest.fixture
async def desk(tmp_path: Path, store: Store) -> AsyncIterator[Desk]:
    tasks = TaskKeeper()
    output = tmp_path / "output"
    base = embedded_default(tmp_path)
    config = type(base)(
        server=base.server,
        printers=(PrinterConfig(name="virtual", uri=output.as_uri()),),
        queues=(QUEUE,),
    )
    spool = Spool(tmp_path / "spool", 1 << 20)
    jobs = JobManager(store, hooks=Hooks(SpoolCleaner(spool)))
    printer = Printer(config.printers[0], FilePrinter(output.as_uri()))
    await refresh(printer, 1.0)
    dispatcher = Dispatcher(config, jobs, {"virtual": printer}, spool, tasks)
    dispatcher.start()
    lists = Lists(store)
    await lists.add("user", QUEUE.name, "alice", hash_password("wonder"), actor=Actor.cli())
    await lists.add("project", QUEUE.name, "Project146", actor=Actor.cli())
    await lists.add("project", QUEUE.name, "Secret", hash_password("pin"), actor=Actor.cli())
    await lists.add("department", QUEUE.name, "Engineering", actor=Actor.cli())
    gate = Gate(SqlIdentity(lists))
    yield Desk(
        ReleaseDesk(jobs, dispatcher, gate, {QUEUE.name: QUEUE}, {QUEUE.name: True}),
        jobs,
        lists,
        spool,
        output,
    )
    await tasks.cancel_all()


async def _printed(job: Job) -> None:
    for _ in range(200):
        if job.state == JobState.COMPLETED:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job.id} is {job.state.name}: {job.message}")


async def test_claim_releases_the_job_charged_to_the_claimant(desk: Desk) -> None:
    job = await desk.held_job()
    assert [j.id for j in await desk.desk.held(QUEUE.name)] == [job.id]
    await desk.desk.claim(
        job.id,
        Claim(
            user="alice",
            password="wonder",
            project="Project146",
            department="Engineering",
            billable=False,
            comment="client review",
        ),
    )
    await _printed(job)
    assert (job.user, job.project, job.department) == ("alice", "Project146", "Engineering")
    assert (job.billable, job.comment) == (False, "client review")
    assert job.released_at is not None
    assert len(list(desk.output.iterdir())) == 1
    assert await desk.desk.held(QUEUE.name) == []


async def test_bad_claims_are_refused_and_the_job_stays_held(desk: Desk) -> None:
    job = await desk.held_job(reason=AUTH_FAILED)
    attempts = [
        (
            Claim(user="alice", password="nope", project="Project146", department="Engineering"),
            "wrong password",
        ),
        (Claim(user="alice", password="wonder", project="Project146"), "needs a department"),
        (
            Claim(user="alice", password="wonder", project="Secret", department="Engineering"),
            "needs its password",
        ),
        (
            Claim(
                user="alice",
                password="wonder",
                project="Secret",
                department="Engineering",
                project_password="bad",
            ),
            "wrong password",
        ),
        (
            Claim(user="mallory", password="x", project="Project146", department="Engineering"),
            "not a user",
        ),
    ]
    for claim, message in attempts:
        with pytest.raises(ReleaseError, match=message):
            await desk.desk.claim(job.id, claim)
    assert job.state == JobState.PENDING_HELD
    await desk.lists.change("user", QUEUE.name, "alice", status="disabled", actor=Actor.cli())
    with pytest.raises(ReleaseError, match="disabled"):
        await desk.desk.claim(
            job.id,
            Claim(user="alice", password="wonder", project="Project146", department="Engineering"),
        )
    await desk.lists.change("user", QUEUE.name, "alice", status="enabled", actor=Actor.cli())
    await desk.desk.claim(
        job.id,
        Claim(
            user="alice",
            password="wonder",
            project="Secret",
            department="Engineering",
            project_password="pin",
        ),
    )
    await _printed(job)
    with pytest.raises(ReleaseError, match="not waiting"):
        await desk.desk.claim(job.id, Claim(user="alice", password="wonder"))


async def test_cancel_and_expiry_keep_the_record(desk: Desk) -> None:
    canceled = await desk.held_job()
    await desk.desk.cancel(canceled.id, by="alice")
    assert canceled.state == JobState.CANCELED and "alice" in canceled.message
    old = await desk.held_job()
    assert await desk.desk.expire(hold_expiry=3600) == 0
    await asyncio.sleep(0.05)
    assert await desk.desk.expire(hold_expiry=0.01) == 1
    assert old.state == JobState.CANCELED and "Expired" in old.message
    stored = await desk.jobs.get(old.id)
    assert stored is not None and stored.state == JobState.CANCELED
    assert list(desk.spool.root.iterdir()) == []

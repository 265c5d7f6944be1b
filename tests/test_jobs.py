"""The job manager: it applies the state table's events (illegal ones raise), every change is in
the store before it is in memory, addons hear of it, and a reopened store gives back the active
jobs."""

from __future__ import annotations

import asyncio

import pytest

from gateway.hooks import Hooks
from gateway.ipp import JobState
from gateway.jobs.events import JobAccepted, JobEnded, JobStarted, JobStateChanged
from gateway.jobs.manager import JobManager
from gateway.jobs.state import (
    AwaitingDocument,
    Canceled,
    ForwardPhase,
    ForwardStarted,
    HeldBySubmitter,
    IllegalTransition,
    JobAlreadyEnded,
    Printed,
    Printing,
    Queued,
)
from gateway.store.store import Store
from gateway.tasks import TaskKeeper


async def _open(url: str) -> tuple[Store, TaskKeeper]:
    tasks = TaskKeeper()
    return await Store.open(url, tasks), tasks


async def test_transitions_follow_the_table(store: Store) -> None:
    jobs = JobManager(store)
    job = await jobs.create(Queued(), uuid="urn:uuid:1", queue="q")
    await jobs.apply(job, ForwardStarted("eve"))
    await jobs.apply(job, Printing("eve"))
    assert (job.state, job.reasons, job.message) == (
        JobState.PROCESSING,
        ("job-printing",),
        "Printing on eve",
    )
    with pytest.raises(IllegalTransition):
        await jobs.apply(job, HeldBySubmitter())
    await jobs.apply(job, Printed("eve"))
    with pytest.raises(JobAlreadyEnded):
        await jobs.apply(job, Printing("eve"))
    assert job.completed_at is not None and job.processing_at is not None
    assert job.id not in jobs.active
    stored = await store.get_job(job.id)
    assert stored is not None and (stored.state, stored.message) == (
        JobState.COMPLETED,
        "Printed on eve",
    )


async def test_only_events_change_the_state(store: Store) -> None:
    jobs = JobManager(store)
    job = await jobs.create(Queued(), uuid="urn:uuid:u", queue="q")
    for field in ("state", "reasons", "message"):
        with pytest.raises(ValueError, match=field):
            await jobs.update(job, **{field: "x"})
        with pytest.raises(ValueError, match=field):
            await jobs.apply(job, Printing("eve"), **{field: "x"})
    with pytest.raises(ValueError, match="state"):
        await jobs.create(Queued(), uuid="urn:uuid:v", queue="q", state=JobState.COMPLETED)
    assert job.state == JobState.PENDING


class Recorder:
    """An addon that keeps every event it hears; a second one that always fails."""

    def __init__(self) -> None:
        self.heard: list[object] = []

    def job_accepted(self, event: JobAccepted) -> None:
        self.heard.append(event)

    async def job_state_changed(self, event: JobStateChanged) -> None:
        self.heard.append(event)

    def job_started(self, event: JobStarted) -> None:
        self.heard.append(event)

    def job_ended(self, event: JobEnded) -> None:
        self.heard.append(event)


class Broken:
    def job_state_changed(self, event: JobStateChanged) -> None:
        raise RuntimeError("an addon that fails")


async def test_addons_hear_every_change_and_a_failing_one_stops_nothing(store: Store) -> None:
    first, second = Recorder(), Recorder()
    jobs = JobManager(store, hooks=Hooks(first, Broken(), second))
    job = await jobs.create(Queued(), uuid="urn:uuid:h", queue="q")
    await jobs.apply(job, ForwardStarted("eve"))
    await jobs.apply(job, Printed("eve"))
    expected = [
        JobAccepted(job),
        JobStateChanged(job, JobState.PENDING),
        JobStarted(job, "eve"),
        JobStateChanged(job, JobState.PROCESSING),
        JobEnded(job),
    ]
    assert first.heard == expected and second.heard == expected


async def test_a_cancel_during_the_start_of_printing_wins(store: Store) -> None:
    """Cancel-Job and the dispatcher's start of the same job, both checked against "pending"
    while the other's store write is under way: the job ends canceled, never printing."""
    jobs = JobManager(store)
    job = await jobs.create(Queued(), uuid="urn:uuid:race", queue="q")
    cancel = jobs.apply(job, Canceled("job-canceled-by-user", "canceled"))
    start = jobs.apply(job, ForwardStarted("eve"))
    results = await asyncio.gather(cancel, start, return_exceptions=True)
    assert results[0] is None and isinstance(results[1], JobAlreadyEnded)
    assert job.state == JobState.CANCELED
    stored = await store.get_job(job.id)
    assert stored is not None and stored.state == JobState.CANCELED


async def test_active_jobs_survive_a_reopen(database_url: str) -> None:
    store, tasks = await _open(database_url)
    try:
        jobs = JobManager(store)
        held = await jobs.create(AwaitingDocument(), uuid="urn:uuid:a", queue="q")
        done = await jobs.create(Queued(), uuid="urn:uuid:b", queue="q")
        await jobs.apply(done, Canceled("job-canceled-by-user", "canceled"))
        mid = await jobs.create(Queued(), uuid="urn:uuid:c", queue="q")
        await jobs.apply(
            mid, ForwardStarted("eve"), forward_phase=ForwardPhase.SENDING, upstream_job_id=42
        )
    finally:
        await store.close()

    store2 = await Store.open(database_url, tasks)
    try:
        reloaded = {j.id: j for j in await JobManager(store2).load_active()}
        assert set(reloaded) == {held.id, mid.id}
        assert reloaded[held.id].reasons == ("job-incoming",)
        assert reloaded[mid.id].forward_phase is ForwardPhase.SENDING
        assert reloaded[mid.id].upstream_job_id == 42
        # terminal jobs stay in the store for history
        old = await JobManager(store2).get(done.id)
        assert old is not None and old.state == JobState.CANCELED
    finally:
        await store2.close()
        await tasks.cancel_all()


async def test_concurrent_creates_are_group_committed_with_unique_ids(store: Store) -> None:
    jobs = JobManager(store)
    created = await asyncio.gather(
        *(jobs.create(Queued(), uuid=f"urn:uuid:{i}", queue="q") for i in range(200))
    )
    assert len({j.id for j in created}) == 200
    assert len(await jobs.list("q", [JobState.PENDING])) == 200


async def test_one_failing_write_does_not_sink_its_batch(store: Store) -> None:
    jobs = JobManager(store)
    results = await asyncio.gather(
        jobs.create(Queued(), uuid="urn:uuid:same", queue="q"),
        jobs.create(Queued(), uuid="urn:uuid:same", queue="q"),  # unique clash
        jobs.create(Queued(), uuid="urn:uuid:other", queue="q"),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Exception) for r in results) == 1
    assert len(await jobs.list("q", [JobState.PENDING])) == 2


async def test_each_printgate_resumes_only_the_jobs_it_took_in(store: Store) -> None:
    mine = await JobManager(store, instance="a").create(Queued(), uuid="urn:uuid:a1", queue="q")
    theirs = await JobManager(store, instance="b").create(Queued(), uuid="urn:uuid:b1", queue="q")
    legacy = await JobManager(store).create(Queued(), uuid="urn:uuid:old", queue="q")
    resumed = {j.id for j in await JobManager(store, instance="a").load_active()}
    assert resumed == {mine.id, legacy.id} and theirs.id not in resumed

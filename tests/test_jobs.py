"""The job state machine and its persistence: illegal transitions raise, every transition is
in the store before it is in memory, and a reopened store gives back the active jobs."""

from __future__ import annotations

import asyncio

import pytest

from gateway.ipp import JobState
from gateway.jobs.manager import IllegalTransition, JobEnded, JobManager
from gateway.store.store import Store
from gateway.tasks import TaskKeeper


async def _open(url: str) -> tuple[Store, TaskKeeper]:
    tasks = TaskKeeper()
    return await Store.open(url, tasks), tasks


async def test_transitions_follow_the_table(database_url: str) -> None:
    store, tasks = await _open(database_url)
    jobs = JobManager(store)
    job = await jobs.create(uuid="urn:uuid:1", queue="q", state=JobState.PENDING)
    await jobs.transition(job, JobState.PROCESSING, ("job-printing",), "printing")
    with pytest.raises(IllegalTransition):
        await jobs.transition(job, JobState.PENDING_HELD)
    await jobs.transition(job, JobState.COMPLETED, ("job-completed-successfully",))
    with pytest.raises(IllegalTransition):
        await jobs.transition(job, JobState.PROCESSING)
    assert job.completed_at is not None and job.processing_at is not None
    assert job.id not in jobs.active
    await store.close()
    await tasks.cancel_all()


async def test_a_cancel_during_the_start_of_printing_wins(database_url: str) -> None:
    """Cancel-Job and the dispatcher's start of the same job, both checked against "pending"
    while the other's store write is under way: the job ends canceled, never printing."""
    store, tasks = await _open(database_url)
    jobs = JobManager(store)
    job = await jobs.create(uuid="urn:uuid:race", queue="q", state=JobState.PENDING)
    cancel = jobs.transition(job, JobState.CANCELED, ("job-canceled-by-user",), "canceled")
    start = jobs.transition(job, JobState.PROCESSING, ("job-transforming",), "sending")
    results = await asyncio.gather(cancel, start, return_exceptions=True)
    assert results[0] is None and isinstance(results[1], JobEnded)
    assert job.state == JobState.CANCELED
    stored = await store.get_job(job.id)
    assert stored is not None and stored.state == JobState.CANCELED
    await store.close()
    await tasks.cancel_all()


async def test_active_jobs_survive_a_reopen(database_url: str) -> None:
    store, tasks = await _open(database_url)
    jobs = JobManager(store)
    held = await jobs.create(
        uuid="urn:uuid:a", queue="q", state=JobState.PENDING_HELD, reasons=("job-incoming",)
    )
    done = await jobs.create(uuid="urn:uuid:b", queue="q", state=JobState.PENDING)
    await jobs.transition(done, JobState.CANCELED, ("job-canceled-by-user",))
    mid = await jobs.create(uuid="urn:uuid:c", queue="q", state=JobState.PENDING)
    await jobs.transition(mid, JobState.PROCESSING, forward_phase="sending", upstream_job_id=42)
    await store.close()

    store2 = await Store.open(database_url, tasks)
    reloaded = {j.id: j for j in await JobManager(store2).load_active()}
    assert set(reloaded) == {held.id, mid.id}
    assert reloaded[held.id].reasons == ("job-incoming",)
    assert reloaded[mid.id].forward_phase == "sending"
    assert reloaded[mid.id].upstream_job_id == 42
    # terminal jobs stay in the store for history
    old = await JobManager(store2).get(done.id)
    assert old is not None and old.state == JobState.CANCELED
    await store2.close()
    await tasks.cancel_all()


async def test_concurrent_creates_are_group_committed_with_unique_ids(database_url: str) -> None:
    store, tasks = await _open(database_url)
    jobs = JobManager(store)
    created = await asyncio.gather(
        *(jobs.create(uuid=f"urn:uuid:{i}", queue="q", state=JobState.PENDING) for i in range(200))
    )
    assert len({j.id for j in created}) == 200
    assert len(await jobs.list("q", [JobState.PENDING])) == 200
    await store.close()
    await tasks.cancel_all()


async def test_one_failing_write_does_not_sink_its_batch(database_url: str) -> None:
    store, tasks = await _open(database_url)
    jobs = JobManager(store)
    results = await asyncio.gather(
        jobs.create(uuid="urn:uuid:same", queue="q", state=JobState.PENDING),
        jobs.create(uuid="urn:uuid:same", queue="q", state=JobState.PENDING),  # unique clash
        jobs.create(uuid="urn:uuid:other", queue="q", state=JobState.PENDING),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Exception) for r in results) == 1
    assert len(await jobs.list("q", [JobState.PENDING])) == 2
    await store.close()
    await tasks.cancel_all()


async def test_each_printgate_resumes_only_the_jobs_it_took_in(database_url: str) -> None:
    tasks = TaskKeeper()
    store = await Store.open(database_url, tasks)
    mine = await JobManager(store, instance="a").create(
        uuid="urn:uuid:a1", queue="q", state=JobState.PENDING
    )
    theirs = await JobManager(store, instance="b").create(
        uuid="urn:uuid:b1", queue="q", state=JobState.PENDING
    )
    legacy = await JobManager(store).create(uuid="urn:uuid:old", queue="q", state=JobState.PENDING)
    resumed = {j.id for j in await JobManager(store, instance="a").load_active()}
    assert resumed == {mine.id, legacy.id} and theirs.id not in resumed
    await store.close()
    await tasks.cancel_all()

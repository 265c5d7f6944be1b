"""A job's record and its row, on intake's fast path: the row holds every field as stored_value
says (a field added later with its own stored form is not written raw), and the insert stores
what the ORM reads back."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from gateway.ipp.enums import JobState
from gateway.jobs.record import Job, stored_value
from gateway.jobs.state import AnalysisStatus, ForwardPhase
from gateway.store.store import Store


def test_a_row_holds_every_field_in_its_stored_form() -> None:
    job = Job(
        id=7,
        uuid="urn:uuid:0",
        queue="q",
        state=JobState.PENDING_HELD,
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
        reasons=("job-hold-until-specified", "account-info-needed"),
        forward_phase=ForwardPhase.SENDING,
        analysis_status=AnalysisStatus.DONE,
    )
    expected = {f.name: stored_value(f.name, getattr(job, f.name)) for f in dataclasses.fields(job)}
    row = job.row_fields()
    assert row == expected
    assert [type(value) for value in row.values()] == [type(v) for v in expected.values()]
    assert row["state"] == int(JobState.PENDING_HELD) and type(row["state"]) is int
    assert row["reasons"] == "job-hold-until-specified,account-info-needed"
    assert type(row["forward_phase"]) is str and type(row["analysis_status"]) is str


async def test_new_rows_read_back_as_written_and_a_bad_one_sinks_alone(store: Store) -> None:
    """Intake's insert (on SQLite, straight to the driver) stores every field as the ORM
    reads it back; a refused row in a batch fails alone, as SQLAlchemy's IntegrityError."""
    job = Job(
        id=0,
        uuid="urn:uuid:a",
        queue="q",
        state=JobState.PENDING,
        created_at=datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC),
        user="Pixel 7",
        reasons=("job-incoming",),
        template=b"\x01\x02",
        billable=False,
        coverage_c=0.125,
        price=Decimal("1.2345"),
        released_at=datetime(2026, 3, 4, 6, 0, tzinfo=UTC),
    )
    fields = job.row_fields()
    del fields["id"]
    other = {**fields, "uuid": "urn:uuid:b"}
    first, duplicate, second = await asyncio.gather(
        store.insert_job(fields), store.insert_job(dict(fields)), store.insert_job(other),
        return_exceptions=True,
    )  # fmt: skip
    assert isinstance(duplicate, IntegrityError)
    assert isinstance(first, int) and isinstance(second, int) and first != second
    row = await store.get_job(first)
    assert row is not None
    assert Job.from_row(row) == dataclasses.replace(job, id=first)


async def test_a_batch_of_new_jobs_gets_each_row_its_own_id(store: Store) -> None:
    """Jobs arriving together are inserted and committed as one batch (on SQLite, one
    statement whose ids are counted back from the last): each id must name its own job."""

    def fields(n: int) -> dict[str, object]:
        job = Job(
            id=0,
            uuid=f"urn:uuid:batch-{n}",
            queue="q",
            state=JobState.PENDING,
            created_at=datetime(2026, 3, 4, tzinfo=UTC),
            user=f"user {n}",
        )
        row = job.row_fields()
        del row["id"]
        return row

    ids = await asyncio.gather(*(store.insert_job(fields(n)) for n in range(12)))
    assert len(set(ids)) == 12
    for n, job_id in enumerate(ids):
        row = await store.get_job(job_id)
        assert row is not None and (row.uuid, row.user) == (f"urn:uuid:batch-{n}", f"user {n}")
    later = await store.insert_job(fields(12))
    assert later > max(ids)

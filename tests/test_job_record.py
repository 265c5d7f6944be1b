"""A job's record and its row: the fast copy intake uses stores every field as stored_value
says, so a field added later with its own stored form is not written raw."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from gateway.ipp.enums import JobState
from gateway.jobs.record import Job, stored_value
from gateway.jobs.state import AnalysisStatus, ForwardPhase


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

"""An administrator's change to a finished job's accounting fields (billable, comment, project,
department): written with its audit entry in one transaction, so a change is never without
its entry. The charge itself stays as recorded when the job printed; its figures move in the
reports' roll-ups to the new project, department or billable flag (rollups.move_job), in the
same transaction."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.accounting.rollups import MOVABLE, move_job
from gateway.ipp.enums import JobState
from gateway.store import audit
from gateway.store.models import JobRow
from gateway.store.store import Store


@dataclass(frozen=True)
class Amendment:
    billable: bool
    comment: str
    project: str
    department: str


class NotAmendable(Exception):
    """The job is missing or not finished: only a finished job's record is changed here."""


async def amend(store: Store, actor: audit.Actor, job_id: int, change: Amendment) -> bool:
    """Apply the change; False when it changed nothing."""

    def fn(session: Session) -> bool:
        row = session.get(JobRow, job_id)
        if row is None or not JobState(row.state).is_terminal:
            raise NotAmendable(job_id)
        wanted = asdict(change)
        before = {name: getattr(row, name) for name in wanted}
        changed = {name: value for name, value in wanted.items() if before[name] != value}
        if not changed:
            return False
        moved = {name: value for name, value in changed.items() if name in MOVABLE}
        if moved:
            move_job(session, job_id, moved)
        kept = {name: value for name, value in changed.items() if name not in MOVABLE}
        if kept:
            session.execute(update(JobRow).where(JobRow.id == job_id).values(**kept))
        audit.record(
            session,
            actor,
            "job.amend",
            f"job {job_id}",
            {name: before[name] for name in changed},
            changed,
        )
        return True

    return await store.write(fn)

"""`printgate jobs`: the recorded jobs, newest first, as a table or one JSON array. In the JSON,
"uuid" names the job's output file, "analysis" is what printgate measured (and charges),
"printer_reported" what the printer itself counted."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..accounting import job_report
from ..config import load
from ..ipp import JobState
from ..jobs.record import Job
from ..store.store import Store
from .common import CommandError, run

STATE_NAMES = {s.name.lower().replace("_", "-"): s for s in JobState}
COLUMNS = ("id", "queue", "state", "user", "project", "department", "name", "printer", "created")


def jobs(args: argparse.Namespace) -> int:
    states = list(JobState)
    if args.state:
        if args.state not in STATE_NAMES:
            raise CommandError(f"--state must be one of {', '.join(STATE_NAMES)}")
        states = [STATE_NAMES[args.state]]

    async def action(store: Store) -> list[dict[str, Any]]:
        rows = await store.list_jobs(
            args.queue, [int(s) for s in states], args.user, args.limit, newest_first=True
        )
        found = [Job.from_row(r) for r in rows]
        return [
            {
                "id": j.id,
                "uuid": job_report.output_name(j),
                "queue": j.queue,
                "state": j.state.name.lower().replace("_", "-"),
                "reasons": list(j.reasons),
                "message": j.message,
                "user": j.user,
                "project": j.project,
                "department": j.department,
                "billable": j.billable,
                "name": j.name,
                "printer": j.printer,
                "created": j.created_at.isoformat(timespec="seconds"),
                "completed": j.completed_at.isoformat(timespec="seconds")
                if j.completed_at
                else None,
                "bytes": j.document_bytes,
                "analysis": job_report.measured(j),
                "printer_reported": job_report.reported(j),
                "charge": job_report.charged(j),
                "meter_delta": j.meter_delta,
                "meter_mismatch": j.meter_mismatch,
            }
            for j in found
            if args.project is None or j.project == args.project
        ]

    found = run(load(args.config), action)
    if args.json:
        print(json.dumps(found, indent=1))
        return 0
    widths = {c: max([len(c), *(len(str(j[c])) for j in found)]) for c in COLUMNS}
    print("  ".join(c.upper().ljust(widths[c]) for c in COLUMNS))
    for job in found:
        print("  ".join(str(job[c]).ljust(widths[c]) for c in COLUMNS))
    return 0


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add `printgate jobs` to the `printgate` parser."""
    listing = commands.add_parser("jobs", parents=[common], help="list recorded jobs")
    listing.add_argument("--queue")
    listing.add_argument("--user")
    listing.add_argument("--project")
    listing.add_argument("--state", help="e.g. completed, pending-held, aborted")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true", help="one JSON array")
    listing.set_defaults(func=jobs)

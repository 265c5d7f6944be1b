"""A printer that no longer knows a job it was given (restarted mid-job, its history cleared):
the job is recorded as lost with its own message, never as printed and never sent again,
unless the printer's own counter shows that it printed. Against a stand-in backend, then
against ippeveprinter restarted while it prints."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from gateway.config import JobsConfig, PrinterConfig
from gateway.ipp import Group, JobState, Tag
from gateway.ipp import model as m
from gateway.jobs.manager import JobManager
from gateway.jobs.record import Job
from gateway.jobs.state import ForwardPhase, ForwardStarted, Queued
from gateway.printers.backend import UpstreamStatus
from gateway.printers.forwarder import Forwarder
from gateway.printers.state import Printer
from gateway.store.store import Store
from tests.ipp_call import job_state, print_job
from tests.peers import REPO_ROOT, IppEvePrinter, Printgate, make_pdf, wait_for


class ForgetfulPrinter:
    """Takes a job, then answers "not found" about it, as a printer restarted after it."""

    uri = "ipp://forgetful.invalid/ipp/print"

    def __init__(self) -> None:
        self.submitted = 0

    async def fetch_attributes(self) -> Group:
        return Group(Tag.PRINTER, [m.keyword("document-format-supported", "application/pdf")])

    async def submit(
        self,
        attributes: Sequence[m.Attribute],
        document: Path,
        document_format: str,
        job_name: str,
        job_uuid: str,
        on_created: Callable[[int], Awaitable[None]],
    ) -> int:
        self.submitted += 1
        await on_created(7)
        return 7

    async def job_status(self, upstream_id: int) -> UpstreamStatus | None:
        return None

    async def cancel(self, upstream_id: int) -> None:
        return None

    async def identify(self, actions: Sequence[str]) -> None:
        return None


class Counter:
    """The printer's counter as the meter check reads it."""

    def __init__(self, printed: int | None):
        self.printed = printed

    async def printed_since_start(self, job: Job, printer: str) -> int | None:
        return self.printed


async def _forward(
    store: Store, tmp_path: Path, witness: Counter | None, **recorded: Any
) -> tuple[Job, ForgetfulPrinter]:
    jobs = JobManager(store)
    backend = ForgetfulPrinter()
    printer = Printer(PrinterConfig("forgetful", backend.uri), backend, up=True)
    job = await jobs.create(
        Queued(), uuid=f"urn:uuid:{uuid.uuid4()}", queue="q", document_format="application/pdf"
    )
    if recorded:  # as a crash left it: mid-forward, the printer given the job
        await jobs.apply(job, ForwardStarted("forgetful"), printer="forgetful", **recorded)
    failure = await Forwarder(jobs, JobsConfig(), witness).run(
        job, printer, make_pdf(tmp_path / "doc.pdf")
    )
    assert failure is None
    return job, backend


async def test_a_job_the_printer_forgot_is_lost_not_printed(store: Store, tmp_path: Path) -> None:
    job, backend = await _forward(store, tmp_path, Counter(None))
    assert backend.submitted == 1
    assert job.state == JobState.ABORTED and job.forward_phase is ForwardPhase.LOST
    assert "no longer knows the job" in job.message and "not charged" in job.message
    row = await store.get_job(job.id)
    assert row is not None and row.state == JobState.ABORTED and row.forward_phase == "lost"
    assert row.failure_reason == "forgetful no longer knows job 7"


async def test_the_counter_can_show_that_it_printed(store: Store, tmp_path: Path) -> None:
    job, _ = await _forward(store, tmp_path, Counter(3))
    assert job.state == JobState.COMPLETED and job.forward_phase is ForwardPhase.LOST
    assert job.meter_delta == 3 and "its counter shows 3" in job.message


async def test_after_a_restart_the_same_answer_means_the_same(store: Store, tmp_path: Path) -> None:
    """Found mid-forward at start-up, whether the document was all sent or not: the printer's
    "not found" makes the job lost there too, and nothing is sent again."""
    for phase in (ForwardPhase.SENDING, ForwardPhase.SENT):
        job, backend = await _forward(store, tmp_path, None, forward_phase=phase, upstream_job_id=7)
        assert backend.submitted == 0
        assert job.state == JobState.ABORTED and job.forward_phase is ForwardPhase.LOST


def _recorded(gateway: Printgate, job_id: int) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "jobs", "--json", "--config", str(gateway.config_path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )
    return next(j for j in json.loads(result.stdout) if j["id"] == job_id)


def test_a_printer_restarted_mid_job_makes_it_lost_and_the_next_job_prints(
    tmp_path: Path,
    printgate_factory: Callable[..., Printgate],
    ippeveprinter_factory: Callable[..., IppEvePrinter],
) -> None:
    eve = ippeveprinter_factory(job_seconds=30)
    gateway = printgate_factory(
        {
            "printers": [{"name": "eve", "uri": eve.uri}],
            "queues": [{"name": "office", "printers": ["eve"]}],
            "jobs": {"retry_initial_delay": 0.2, "retry_max_delay": 0.5, "monitor_interval": 0.2},
        }
    )
    uri = gateway.queue_uri("office")
    first = print_job(uri, make_pdf(tmp_path / "a.pdf").read_bytes(), name="forgotten")
    wait_for(lambda: "Printing on eve" in job_state(uri, first)[2], 60, what="printing on eve")
    eve.kill()
    eve.job_seconds = 0
    eve._write_command()  # the next incarnation prints at once
    eve.start()  # the same port, no memory of the job
    state, _, message = wait_for(
        lambda: (s := job_state(uri, first))[0] >= JobState.CANCELED and s, 60, what="job ends"
    )
    assert state == JobState.ABORTED and "no longer knows the job" in message, message
    record = _recorded(gateway, first)
    assert record["state"] == "aborted" and record["charge"] is None, record

    second = print_job(uri, make_pdf(tmp_path / "b.pdf").read_bytes(), name="next")
    state, _, message = wait_for(
        lambda: (s := job_state(uri, second))[0] >= JobState.CANCELED and s, 60, what="next ends"
    )
    assert state == JobState.COMPLETED, message
    received = [p for p in eve.spool_dir.iterdir() if p.is_file()]
    assert len(received) == 1, received  # the restarted printer was sent only the next job

"""A job canceled at any moment of its forward is canceled at the printer too, and the printer
takes the next job: before Create-Job, while Create-Job is on its way (the printer slow to
answer: stopped with SIGSTOP), while the document goes out (the printer stopped mid-upload),
and while the printer prints it. The printer's own job list (Get-Jobs, which-jobs=all on
ippeveprinter) shows each job it was given canceled, and the next job completes. An upstream
job left waiting for its document by a Create-Job whose answer never came (a crash) is found
and canceled before the job is sent again."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.config import JobsConfig, PrinterConfig
from gateway.ipp import JobState, Op, Tag
from gateway.ipp import model as m
from gateway.jobs.manager import JobManager
from gateway.jobs.record import Job
from gateway.jobs.state import ForwardPhase, ForwardStarted, Queued
from gateway.printers.forwarder import Forwarder
from gateway.printers.ipp import IppPrinter
from gateway.printers.ipp_client import IppClient
from gateway.printers.state import Printer
from gateway.store.store import Store
from tests.harness import InProcess, in_process
from tests.ipp_call import ipp, print_job
from tests.peers import IppEvePrinter, make_pdf

BOUND = 30.0  # seconds any awaited condition gets


def printer_jobs(eve: IppEvePrinter, which: str = "all") -> dict[int, JobState]:
    """The printer's own job list: job id -> job-state."""
    reply = ipp(
        eve.uri,
        Op.GET_JOBS,
        m.keyword("which-jobs", which),
        m.keyword("requested-attributes", "job-id", "job-state"),
    )
    jobs = {}
    for group in reply.groups_of(Tag.JOB):
        job_id, state = group.get("job-id"), group.get("job-state")
        assert job_id is not None and state is not None
        jobs[job_id.integer() or 0] = JobState(state.integer() or 0)
    return jobs


async def until(condition: Callable[[], object], what: str, interval: float = 0.002) -> None:
    """Poll `condition` (cheap, in this loop) every few milliseconds, within BOUND."""
    deadline = asyncio.get_running_loop().time() + BOUND
    while True:
        if condition():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {BOUND:g} s: {what}")
        await asyncio.sleep(interval)


async def printer_shows(eve: IppEvePrinter, upstream_id: int, *states: JobState) -> None:
    """Wait until the printer's own job list shows the job in one of `states`."""
    seen: dict[int, JobState] = {}
    deadline = asyncio.get_running_loop().time() + BOUND
    while True:
        seen = await asyncio.to_thread(printer_jobs, eve)
        if seen.get(upstream_id) in states:
            return
        if asyncio.get_running_loop().time() > deadline:
            wanted = " or ".join(str(state) for state in states)
            raise AssertionError(
                f"printer job {upstream_id}: {seen.get(upstream_id)}, not {wanted}"
            )
        await asyncio.sleep(0.1)


@contextmanager
def stopped(eve: IppEvePrinter) -> Iterator[None]:
    """The printer slow to answer: its process stopped (it still accepts connections, in the
    kernel's backlog, but answers nothing) until the block ends."""
    assert eve.pid is not None
    os.kill(eve.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(eve.pid, signal.SIGCONT)


def cancel_job(uri: str, job_id: int) -> None:
    reply = ipp(uri, Op.CANCEL_JOB, m.integer("job-id", job_id))
    assert reply.code < 0x100, f"Cancel-Job: 0x{reply.code:04x}"


async def start_cancel(printgate: InProcess, job: Job) -> asyncio.Task[None]:
    """Cancel-Job over IPP, sent while the printer is stopped: returns once the gateway is
    withdrawing the job (so the cancel lands in the phase the job is in now); the task ends
    when the client has its answer, which needs the printer going again."""
    uri = printgate.queue_uri(job.queue)
    dispatcher = printgate.gateway.dispatcher
    phase = job.forward_phase
    canceling = asyncio.create_task(asyncio.to_thread(cancel_job, uri, job.id))
    await until(lambda: dispatcher.canceling(job.id), "the cancel under way")
    assert job.forward_phase is phase, "the forward moved on while the printer was stopped"
    return canceling


async def test_cancel_at_every_phase_then_the_next_job_prints(
    tmp_path: Path, database_url: str, ippeveprinter_factory: Callable[..., IppEvePrinter]
) -> None:
    # Long enough a print that the cancel lands while it prints, however loaded the machine.
    eve = ippeveprinter_factory(job_seconds=4)
    # Prints at once: a document cut short before the printer was told of the cancel would
    # be taken as whole and printed (completed) before a late Cancel-Job.
    quick = ippeveprinter_factory("quick", job_seconds=0)
    small = make_pdf(tmp_path / "small.pdf").read_bytes()
    # Larger than what the loopback socket buffers hold, so the upload stalls on a stopped printer.
    large = small + b"%" + b"x" * (48 << 20) + b"\n"
    async with in_process(
        tmp_path,
        database_url,
        jobs={"retry_initial_delay": 0.1, "retry_max_delay": 0.3, "monitor_interval": 0.2},
        printers=[{"name": "eve", "uri": eve.uri}, {"name": "quick", "uri": quick.uri}],
        queues=[
            {"name": "office", "printers": ["eve"], "auth": "none"},
            {"name": "quick", "printers": ["quick"], "auth": "none"},
        ],
    ) as printgate:
        uri = printgate.queue_uri("office")
        jobs = printgate.gateway.jobs

        async def submit(document: bytes, name: str, queue: str = "office") -> Job:
            to = printgate.queue_uri(queue)
            job_id = await asyncio.to_thread(print_job, to, document, name=name)
            job = jobs.active.get(job_id)
            assert job is not None, f"job {job_id} ended at once"
            return job

        # 1. Create-Job on its way: sent, the printer not answering yet. A second job waits
        # behind it and is canceled before its own Create-Job.
        with stopped(eve):
            creating = await submit(small, "creating")
            await until(lambda: creating.forward_phase is ForwardPhase.CREATING, "Create-Job sent")
            waiting = await submit(small, "waiting")
            await asyncio.to_thread(cancel_job, uri, waiting.id)
            # Still stopped: the printer has not answered Create-Job when the cancel lands.
            canceling = await start_cancel(printgate, creating)
        async with asyncio.timeout(BOUND):
            await canceling
        assert waiting.state == JobState.CANCELED and waiting.upstream_job_id == 0
        assert not waiting.printer, "a job canceled before Create-Job never went to a printer"
        assert creating.state == JobState.CANCELED
        assert creating.upstream_job_id, "the printer's job id was learned while canceling"
        await printer_shows(eve, creating.upstream_job_id, JobState.CANCELED)

        # 2. The document going out: the printer stops mid-upload, the job is canceled.
        sending = await submit(large, "sending", "quick")
        await until(lambda: sending.forward_phase is ForwardPhase.SENDING, "Create-Job answered")
        with stopped(quick):
            await asyncio.sleep(0.3)  # the upload fills the socket buffers and stalls
            assert sending.forward_phase is ForwardPhase.SENDING
            canceling = await start_cancel(printgate, sending)
        async with asyncio.timeout(BOUND):
            await canceling
        assert sending.state == JobState.CANCELED and sending.upstream_job_id
        # The Cancel-Job and the cut upload reach the printer on two connections when it goes
        # on: ippeveprinter may take the cut document as whole and finish the job before it
        # reads the cancel. Either way the printer's job has ended: nothing is left open.
        await printer_shows(quick, sending.upstream_job_id, JobState.CANCELED, JobState.COMPLETED)

        # 3. Printing at the printer.
        printing = await submit(small, "printing")
        await until(lambda: "job-printing" in printing.reasons, "printing on eve")
        assert printing.forward_phase is ForwardPhase.SENT
        await asyncio.to_thread(cancel_job, uri, printing.id)
        assert printing.state == JobState.CANCELED
        await printer_shows(eve, printing.upstream_job_id, JobState.CANCELED)

        # The next job prints, and nothing is left open at the printer.
        after = await submit(small, "after")
        await until(lambda: after.state == JobState.COMPLETED, "the next job completed")
        assert (await asyncio.to_thread(printer_jobs, eve))[after.upstream_job_id] == (
            JobState.COMPLETED
        )
        assert await asyncio.to_thread(printer_jobs, eve, "not-completed") == {}
        given = {j.upstream_job_id for j in (creating, printing, after)}
        assert set(await asyncio.to_thread(printer_jobs, eve)) == given
        quick_after = await submit(small, "quick after", "quick")
        await until(lambda: quick_after.state == JobState.COMPLETED, "the next job completed")
        assert await asyncio.to_thread(printer_jobs, quick, "not-completed") == {}


async def test_a_job_left_waiting_for_its_document_is_canceled_before_sending_again(
    store: Store, tmp_path: Path, ippeveprinter_factory: Callable[..., IppEvePrinter]
) -> None:
    """As a crash leaves it: Create-Job reached the printer, its answer never reached the
    record (forward_phase "creating", no upstream id). Resumed, the forward finds the
    printer's job by its name, cancels it, and prints; otherwise the printer, which takes one
    job at a time, would answer "busy" for ever."""
    eve = ippeveprinter_factory(job_seconds=0)
    jobs = JobManager(store)
    job = await jobs.create(
        Queued(), uuid=f"urn:uuid:{uuid.uuid4()}", queue="office", name="report",
        document_format="application/pdf",
    )  # fmt: skip
    await jobs.apply(job, ForwardStarted("eve"), printer="eve", forward_phase=ForwardPhase.CREATING)
    left = ipp(eve.uri, Op.CREATE_JOB, m.name_("job-name", "report"), user="printgate").group(
        Tag.JOB
    )
    assert left is not None
    orphan = left.get("job-id")
    assert orphan is not None and (orphan_id := orphan.integer())
    client = IppClient()
    try:
        backend = IppPrinter(eve.uri, client)
        printer = Printer(PrinterConfig("eve", eve.uri), backend, up=True)
        printer.attributes = await backend.fetch_attributes()
        failure = await Forwarder(jobs, JobsConfig(monitor_interval=0.2)).run(
            job, printer, make_pdf(tmp_path / "doc.pdf")
        )
    finally:
        await client.close()
    assert failure is None and job.state == JobState.COMPLETED
    states = await asyncio.to_thread(printer_jobs, eve)
    assert states[orphan_id] == JobState.CANCELED
    assert states[job.upstream_job_id] == JobState.COMPLETED
